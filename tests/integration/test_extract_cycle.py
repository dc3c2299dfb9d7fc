"""A full cycle fills the five tables; a second one changes nothing; values round-trip exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from binance_cdc.datasets import DATASETS

pytestmark = pytest.mark.postgres

ALL = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "1000SATSUSDT", "PEPEUSDT", "币安人生USDT"]


def test_one_cycle_fills_all_five_tables_and_a_second_adds_nothing(
        make_extractor, sim_clock, db, sym):
    extractor = make_extractor(ALL, depth_limit=10, klines_backfill=20)
    symbols = [sym(s) for s in ALL]
    sim_clock.advance(10)  # some trades

    first = extractor.run_cycle()
    assert [(r.dataset, r.status) for r in first] == [(d, "ok") for d in DATASETS]
    counts = {table: db.count(table, symbols) for table in DATASETS}
    assert counts["order_book"] == len(symbols) * 2 * 10
    assert counts["klines"] == len(symbols) * 20
    assert counts["daily_ticker"] == counts["latest_prices"] == len(symbols)
    assert counts["recent_trades"] > 0
    assert {r.dataset: r.counts.inserted for r in first} == counts
    runs = db.rows("SELECT dataset, status, rows_inserted, requests, weight_used "
                   "FROM binance.extraction_runs WHERE run_id = ANY(%s)",
                   [r.run_id for r in first])
    assert sorted(r[0] for r in runs) == sorted(DATASETS)
    assert all(r[1] == "ok" and r[3] > 0 and r[4] > 0 for r in runs)

    second = extractor.run_cycle()  # nothing happened on the exchange in between
    assert all(r.status == "ok" for r in second)
    assert [(r.counts.inserted, r.counts.updated, r.counts.deleted) for r in second] == \
        [(0, 0, 0)] * len(DATASETS)
    assert {table: db.count(table, symbols) for table in DATASETS} == counts


def test_multi_symbol_ticker_calls_are_used(make_extractor, sim, sim_clock):
    extractor = make_extractor(ALL, datasets=["daily_ticker", "latest_prices"])
    sim_clock.advance(1)
    before = dict(sim.requests)
    extractor.run_cycle()
    assert sim.requests["/api/v3/ticker/24hr"] - before.get("/api/v3/ticker/24hr", 0) == 1
    assert sim.requests["/api/v3/ticker/price"] - before.get("/api/v3/ticker/price", 0) == 1


def test_values_round_trip_exactly(make_extractor, sim, sim_clock, db, sym):
    names = ["PEPEUSDT", "1000SATSUSDT", "币安人生USDT", "BTCUSDT"]
    make_extractor(names, datasets=["recent_trades", "latest_prices", "daily_ticker"]).run_cycle()
    sim_clock.advance(20)
    make_extractor(names, datasets=["recent_trades", "latest_prices", "daily_ticker"]).run_cycle()
    for name in names:
        symbol = sym(name)
        served = requests.get(sim.url + "/api/v3/trades",
                              params={"symbol": symbol, "limit": 1000}).json()
        stored = dict((tid, (p, q, qq)) for tid, p, q, qq in db.rows(
            "SELECT trade_id, price::text, qty::text, quote_qty::text "
            "FROM binance.recent_trades WHERE symbol = %s", symbol))
        assert served, name
        for trade in served:
            assert stored[trade["id"]] == (trade["price"], trade["qty"], trade["quoteQty"])
        price = requests.get(sim.url + "/api/v3/ticker/price", params={"symbol": symbol}).json()
        assert db.value("SELECT price::text FROM binance.latest_prices WHERE symbol = %s",
                        symbol) == price["price"]
        ticker = requests.get(sim.url + "/api/v3/ticker/24hr", params={"symbol": symbol}).json()
        volume = db.value("SELECT volume FROM binance.daily_ticker WHERE symbol = %s", symbol)
        assert volume == Decimal(ticker["volume"]) and str(volume) == ticker["volume"]


def test_latest_prices_written_only_when_the_price_changed(make_extractor, sim, sim_clock, db,
                                                            sym):
    extractor = make_extractor(["BTCUSDT", "币安人生USDT"], datasets=["latest_prices"])
    extractor.run_cycle()
    sim.market.set_trade_rate(sym("币安人生USDT"), 0)  # this one stops trading
    sim_clock.advance(5)
    (result,) = extractor.run_cycle()
    assert result.counts.inserted == 0 and result.counts.updated == 1
    quiet, busy = db.rows("SELECT updated_at FROM binance.latest_prices WHERE symbol = ANY(%s) "
                          "ORDER BY symbol = %s DESC", [sym("币安人生USDT"), sym("BTCUSDT")],
                          sym("币安人生USDT"))
    assert quiet[0] < busy[0]
