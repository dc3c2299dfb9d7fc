"""Trade-id gap arithmetic of recent_trades (pure)."""

from __future__ import annotations

import pytest

from binance_cdc.extract.trades import new_gap, remaining_gaps


@pytest.mark.parametrize("last_stored, first_recent, gap", [
    pytest.param(None, 100, None, id="first-poll"),
    pytest.param(99, None, None, id="no-new-trades"),
    pytest.param(99, 100, None, id="contiguous"),
    pytest.param(150, 100, None, id="overlap"),
    pytest.param(99, 101, (100, 100), id="one-missing"),
    pytest.param(10, 2000, (11, 1999), id="many-missing"),
])
def test_new_gap(last_stored, first_recent, gap):
    assert new_gap(last_stored, first_recent) == gap


@pytest.mark.parametrize("gaps, fetched, left", [
    pytest.param([(1, 10)], set(range(1, 11)), [], id="filled"),
    pytest.param([(1, 10)], set(), [(1, 10)], id="nothing-fetched"),
    pytest.param([(1, 10)], set(range(1, 6)), [(6, 10)], id="page-budget-ran-out"),
    pytest.param([(1, 10)], {1, 2, 5, 10}, [(3, 4), (6, 9)], id="holes"),
    pytest.param([(1, 3), (7, 9)], {2, 8, 50}, [(1, 1), (3, 3), (7, 7), (9, 9)], id="two-gaps"),
])
def test_remaining_gaps(gaps, fetched, left):
    assert remaining_gaps(gaps, fetched) == left


@pytest.mark.parametrize("interval, ms", [
    ("1s", 1000), ("1m", 60_000), ("15m", 900_000), ("4h", 14_400_000), ("1d", 86_400_000),
    ("1w", 604_800_000), ("1M", None),
])
def test_interval_ms(interval, ms):
    from binance_cdc.extract.klines import interval_ms

    assert interval_ms(interval) == ms
