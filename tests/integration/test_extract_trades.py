"""recent_trades: insert-only, and every trade id since the first poll ends up stored."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.postgres


def ids(db, symbol):
    return [tid for (tid,) in db.rows(
        "SELECT trade_id FROM binance.recent_trades WHERE symbol = %s ORDER BY trade_id", symbol)]


def test_gaps_between_polls_are_backfilled(make_extractor, sim, sim_clock, db, sym):
    symbol = sym("BTCUSDT")
    sim.market.set_trade_rate(symbol, 300.0)  # far more than one /trades answer holds
    extractor = make_extractor(["BTCUSDT"], datasets=["recent_trades"], trades_limit=50)
    sim_clock.advance(0.5)
    extractor.run_cycle()
    first_id = ids(db, symbol)[0]

    sim_clock.advance(3)  # ~900 trades, only the newest 50 come from /trades
    (result,) = extractor.run_cycle()
    assert result.status == "ok"
    assert result.details["gaps_found"][symbol]
    stored = ids(db, symbol)
    assert stored == list(range(first_id, stored[-1] + 1))  # contiguous: nothing missed
    newest = sim.market.get(symbol).trades[-1][0]
    assert stored[-1] == newest
    assert result.counts.inserted == len(stored) - 50 or result.counts.inserted > 50

    (again,) = extractor.run_cycle()  # re-poll: no duplicates, nothing new
    assert again.counts.inserted == 0 and ids(db, symbol) == stored


def test_unfilled_gap_is_logged_and_filled_by_later_polls(make_extractor, sim, sim_clock, db,
                                                         sym):
    symbol = sym("ETHUSDT")
    sim.market.set_trade_rate(symbol, 100.0)
    extractor = make_extractor(["ETHUSDT"], datasets=["recent_trades"], trades_limit=20,
                               historical_trades_limit=25, backfill_max_pages=2)
    sim_clock.advance(0.5)
    extractor.run_cycle()
    first_id = ids(db, symbol)[0]
    sim_clock.advance(2)  # ~200 trades; 2 pages of 25 per poll cannot cover the gap
    sim.market.set_trade_rate(symbol, 0)

    (partial,) = extractor.run_cycle()
    assert partial.status == "partial"
    logged = db.value("SELECT details -> 'open_gaps' -> %s FROM binance.extraction_runs "
                      "WHERE run_id = %s", symbol, partial.run_id)
    assert logged and logged[0][1] >= logged[0][0]

    for _ in range(10):
        (result,) = extractor.run_cycle()
        if result.status == "ok":
            break
    assert result.status == "ok"
    stored = ids(db, symbol)
    assert stored == list(range(first_id, sim.market.get(symbol).trades[-1][0] + 1))


def test_empty_trade_list(make_extractor, sim, db, sym):
    symbol = sym("BNBUSDT")
    sim.market.set_trade_rate(symbol, 0)
    (result,) = make_extractor(["BNBUSDT"], datasets=["recent_trades"]).run_cycle()
    assert result.status == "ok" and result.counts.inserted == 0
    assert ids(db, symbol) == []
