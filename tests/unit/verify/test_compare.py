"""compare_rows counts missing, extra and different rows and names a few keys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from binance_cdc.datasets import LATEST_PRICES
from binance_cdc.verify.compare import compare_rows

WHEN = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


def row(symbol: str, price: str) -> tuple[object, ...]:
    return (symbol, Decimal(price), WHEN)


def test_identical_sides_match() -> None:
    rows = [row("A", "1.10"), row("B", "2")]
    diff = compare_rows(LATEST_PRICES, rows, [row("B", "2.000"), row("A", "1.1")])
    assert diff.matches
    assert (diff.postgres_rows, diff.cassandra_rows) == (2, 2)


def test_missing_extra_and_different_are_counted_with_sample_keys() -> None:
    postgres = [row("A", "1"), row("B", "2"), row("C", "3")]
    cassandra = [row("B", "2"), row("C", "3.5"), row("D", "4")]
    diff = compare_rows(LATEST_PRICES, postgres, cassandra)
    assert not diff.matches
    assert (diff.missing, diff.extra, diff.different) == (1, 1, 1)
    assert diff.sample_missing == ({"symbol": "A"},)
    assert diff.sample_extra == ({"symbol": "D"},)
    assert diff.sample_different == ({"symbol": "C"},)


def test_samples_are_capped() -> None:
    postgres = [row(f"S{i}", "1") for i in range(20)]
    diff = compare_rows(LATEST_PRICES, postgres, [], samples=3)
    assert diff.missing == 20
    assert len(diff.sample_missing) == 3


def test_both_sides_empty_match() -> None:
    assert compare_rows(LATEST_PRICES, [], []).matches
