"""klines: the open candle is updated until it closes; closed candles are never rewritten."""

from __future__ import annotations

import itertools

import pytest

pytestmark = pytest.mark.postgres


def candles(db, symbol):
    return db.rows("SELECT open_time, is_closed, close::text, trade_count, xmin::text "
                   "FROM binance.klines WHERE symbol = %s AND interval = '1m' ORDER BY open_time",
                   symbol)


def test_open_candle_updated_closed_ones_untouched(make_extractor, sim_clock, db, sym):
    symbol = sym("BTCUSDT")
    extractor = make_extractor(["BTCUSDT"], datasets=["klines"], klines_backfill=10)

    (first,) = extractor.run_cycle()
    rows = candles(db, symbol)
    assert first.counts.inserted == len(rows) == 10
    assert [r[1] for r in rows] == [True] * 9 + [False]  # only the newest is still open
    closed_before = {r[0]: r for r in rows[:-1]}

    sim_clock.advance(1)  # trades land in the open candle
    (second,) = extractor.run_cycle()
    assert (second.counts.inserted, second.counts.updated) == (0, 1)
    rows = candles(db, symbol)
    assert rows[-1][3] > 0 or rows[-1][4] != closed_before  # the open candle moved
    assert {r[0]: r for r in rows[:-1]} == closed_before  # same xmin: not rewritten

    open_time = rows[-1][0]
    sim_clock.advance(61)  # the open candle closes, a new one opens
    (third,) = extractor.run_cycle()
    assert third.counts.updated == 1 and third.counts.inserted >= 1
    rows = candles(db, symbol)
    by_time = {r[0]: r for r in rows}
    assert by_time[open_time][1] is True
    assert rows[-1][1] is False and rows[-1][0] > open_time
    assert {t: by_time[t] for t in closed_before} == closed_before

    (fourth,) = extractor.run_cycle()  # nothing moved: no writes at all
    assert (fourth.counts.inserted, fourth.counts.updated) == (0, 0)


def test_catch_up_after_downtime_pages_forward(make_extractor, sim_clock, db, sym):
    symbol = sym("ETHUSDT")
    extractor = make_extractor(["ETHUSDT"], datasets=["klines"], klines_backfill=5)
    extractor.run_cycle()
    sim_clock.advance(30 * 60)  # 30 minutes without polling
    (result,) = extractor.run_cycle()
    assert result.counts.inserted == 30
    times = [r[0] for r in candles(db, symbol)]
    assert len(times) == 35
    assert all((b - a).total_seconds() == 60 for a, b in itertools.pairwise(times))


def test_first_run_backfill_longer_than_one_page(make_extractor, db, sym):
    symbol = sym("BNBUSDT")
    (result,) = make_extractor(["BNBUSDT"], datasets=["klines"], klines_backfill=1100,
                               kline_intervals=["1m"]).run_cycle()
    # The simulator's history is 120 minutes: everything it has, in order, no duplicates.
    times = [r[0] for r in candles(db, symbol)]
    assert result.counts.inserted == len(times) == 121
    assert result.requests == 1 + 1 + 1  # exchangeInfo, time, one page of klines
