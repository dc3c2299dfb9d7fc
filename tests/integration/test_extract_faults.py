"""Faults: 429 waited out, 418 stops, bad payloads roll back, unknown symbols are skipped."""

from __future__ import annotations

import time

import pytest

from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.errors import IpBannedError

pytestmark = pytest.mark.postgres


def test_429_is_waited_out(make_extractor, sim, db, sym):
    sim.faults.add(Fault("429", path="/api/v3/depth", retry_after=1))
    extractor = make_extractor(["BTCUSDT"], datasets=["order_book"], depth_limit=5)
    started = time.monotonic()
    (result,) = extractor.run_cycle()
    assert result.status == "ok"
    assert time.monotonic() - started >= 1.0
    assert result.waited_s == pytest.approx(1.0)
    assert db.count("order_book", [sym("BTCUSDT")]) == 10


def test_418_stops_all_calls(make_extractor, sim, db, sym):
    sim.faults.add(Fault("418", path="/api/v3/trades", retry_after=120))
    extractor = make_extractor(["BTCUSDT", "ETHUSDT"])
    with pytest.raises(IpBannedError, match="banned"):
        extractor.run_cycle()
    calls = sum(sim.requests.values())
    with pytest.raises(IpBannedError):
        extractor.run_dataset("latest_prices")
    assert sum(sim.requests.values()) == calls  # not one more request
    status, error = db.rows("SELECT status, error FROM binance.extraction_runs WHERE "
                            "dataset = 'recent_trades' AND %s = ANY(symbols) "
                            "ORDER BY run_id DESC LIMIT 1", sym("BTCUSDT"))[0]
    assert status == "failed" and "418" in error


@pytest.mark.parametrize("kind, field", [("malformed", None), ("bad_value", "price")])
def test_bad_payload_rolls_the_whole_dataset_back_and_the_next_dataset_runs(
        make_extractor, sim, sim_clock, db, sym, kind, field):
    names = [sym("BTCUSDT"), sym("ETHUSDT")]
    extractor = make_extractor(["BTCUSDT", "ETHUSDT"], datasets=["recent_trades", "order_book"])
    sim_clock.advance(5)
    extractor.run_cycle()
    before = db.rows("SELECT symbol, count(*), max(trade_id) FROM binance.recent_trades "
                     "WHERE symbol = ANY(%s) GROUP BY symbol ORDER BY symbol", names)
    sim_clock.advance(5)
    # BTCUSDT's answer is fine, ETHUSDT's is broken: nothing of the dataset may be written.
    sim.faults.add(Fault(kind, path="/api/v3/trades", symbol=sym("ETHUSDT")))
    trades_run, book_run = extractor.run_cycle()
    assert trades_run.status == "failed"
    assert "/api/v3/trades" in trades_run.error and sym("ETHUSDT") in trades_run.error
    if field:
        assert f"field [0].{field}" in trades_run.error
    assert db.rows("SELECT symbol, count(*), max(trade_id) FROM binance.recent_trades "
                   "WHERE symbol = ANY(%s) GROUP BY symbol ORDER BY symbol", names) == before
    assert book_run.status == "ok"
    logged = db.value("SELECT error FROM binance.extraction_runs WHERE run_id = %s",
                      trades_run.run_id)
    assert sym("ETHUSDT") in logged

    (recovered, _) = extractor.run_cycle()  # the fault is gone: the next poll catches up
    assert recovered.status == "ok" and recovered.counts.inserted > 0


def test_unknown_symbol_is_skipped_while_the_others_load(make_extractor, sim, sim_clock, db, sym):
    extractor = make_extractor(["BTCUSDT", "1000SATSUSDT"], raw_symbols=["MATICUSDT"])
    sim_clock.advance(2)
    results = extractor.run_cycle()
    assert [r.status for r in results] == ["ok"] * 5
    for result in results:
        assert "MATICUSDT" in result.details["skipped"]
        assert "MATICUSDT" not in result.symbols
        assert sorted(result.symbols) == sorted([sym("BTCUSDT"), sym("1000SATSUSDT")])
    assert db.count("latest_prices", [sym("BTCUSDT"), sym("1000SATSUSDT")]) == 2
    assert db.count("latest_prices", ["MATICUSDT"]) == 0


def test_symbol_delisted_between_checks_is_dropped(make_extractor, sim, sim_clock, db, sym):
    extractor = make_extractor(["BTCUSDT", "ETHUSDT", "BNBUSDT"])
    extractor.run_cycle()
    sim.market.delist(sym("ETHUSDT"))  # the symbol list is cached: calls now answer -1121
    sim_clock.advance(2)
    results = extractor.run_cycle()
    assert [r.status for r in results] == ["ok"] * 5
    for result in results:
        assert sym("ETHUSDT") not in result.symbols
        assert sym("ETHUSDT") in result.details["skipped"]
        assert sorted(result.symbols) == sorted([sym("BTCUSDT"), sym("BNBUSDT")])


def test_500_is_retried(make_extractor, sim):
    sim.faults.add(Fault("500", path="/api/v3/ticker/price", times=2))
    (result,) = make_extractor(["BTCUSDT"], datasets=["latest_prices"]).run_cycle()
    assert result.status == "ok" and result.requests == 1 + 1 + 2  # exchangeInfo, 3 tries
