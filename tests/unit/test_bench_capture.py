"""Pure parts of `bench capture`: percentiles and the bench row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from binance_cdc.bench.capture import Latency, bench_row, percentile
from binance_cdc.datasets import RECENT_TRADES


@pytest.mark.parametrize(("values", "pct", "expected"), [
    ([5], 50, 5), ([5], 99, 5),
    (list(range(1, 101)), 50, 50), (list(range(1, 101)), 99, 99), (list(range(1, 101)), 100, 100),
    ([1, 2, 3, 4], 50, 2), ([1, 2, 3, 4], 99, 4),
])
def test_nearest_rank_percentile(values: list[int], pct: float, expected: float) -> None:
    assert percentile(values, pct) == expected


def test_latency_summary() -> None:
    lat = Latency.of([30, 10, 20, 40])
    assert (lat.p50, lat.p99, lat.max, lat.mean) == (20, 40, 40, 25)


def test_bench_row_follows_the_dataset_declaration() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    row = dict(zip(RECENT_TRADES.column_names, bench_row(RECENT_TRADES, "BENCH_X", 7, now)))
    assert row["symbol"] == "BENCH_X" and row["trade_id"] == 7
    assert isinstance(row["price"], Decimal) and row["trade_time"] == now
    assert isinstance(row["is_buyer_maker"], bool)
