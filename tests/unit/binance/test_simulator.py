"""The simulator: deterministic, Binance-shaped, weight-limited, with switchable faults."""

from __future__ import annotations

import json

import pytest
import requests

from binance_cdc.binance.simulator import responses
from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.binance.simulator.market import ManualClock, Market
from binance_cdc.binance.simulator.server import SimulatorServer


def snapshot(market: Market) -> str:
    out = {}
    for symbol in market.symbols:
        m = market.get(symbol)
        out[symbol] = [responses.trades(m, 50), responses.depth(m, 10),
                       responses.klines(m, "1m", 5, None, None), responses.ticker_24hr(m)]
    return json.dumps(out, ensure_ascii=False)


def test_same_seed_same_market():
    clocks = [ManualClock(1_800_000_000.0), ManualClock(1_800_000_000.0)]
    markets = [Market(3, clock=c, history_minutes=60) for c in clocks]
    for c in clocks:
        c.advance(42.5)
    assert snapshot(markets[0]) == snapshot(markets[1])
    other = Market(4, clock=ManualClock(1_800_000_000.0), history_minutes=60)
    assert snapshot(other) != snapshot(markets[0])


def test_odd_real_world_symbols_are_listed():
    symbols = set(Market(1, history_minutes=5).symbols)
    assert {"1000SATSUSDT", "币安人生USDT", "PEPEUSDT"} <= symbols


def test_weight_header_and_shapes(sim, clock):
    clock.advance(5)
    r = requests.get(sim.url + "/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 3})
    assert r.status_code == 200 and r.headers["X-MBX-USED-WEIGHT-1M"] == "25"
    trades = r.json()
    assert len(trades) == 3 and isinstance(trades[0]["price"], str)
    assert [t["id"] for t in trades] == list(range(trades[0]["id"], trades[0]["id"] + 3))
    kl = requests.get(sim.url + "/api/v3/klines",
                      params={"symbol": "BTCUSDT", "interval": "1m", "limit": 2}).json()
    assert [len(k) for k in kl] == [12, 12] and isinstance(kl[0][1], str)
    assert r.headers["Content-Type"].startswith("application/json")


def test_historical_trades_start_at_from_id(sim, clock):
    clock.advance(30)
    recent = requests.get(sim.url + "/api/v3/trades",
                          params={"symbol": "ETHUSDT", "limit": 100}).json()
    from_id = recent[10]["id"]
    page = requests.get(sim.url + "/api/v3/historicalTrades",
                        params={"symbol": "ETHUSDT", "fromId": from_id, "limit": 5}).json()
    assert [t["id"] for t in page] == list(range(from_id, from_id + 5))
    assert page[0] == recent[10]


def test_open_candle_closes_when_time_passes(sim, clock):
    def last() -> list:
        return requests.get(sim.url + "/api/v3/klines",
                            params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1}).json()[0]

    open_candle = last()
    server_ms = requests.get(sim.url + "/api/v3/time").json()["serverTime"]
    assert open_candle[6] >= server_ms  # still open
    clock.advance(61)
    assert last()[0] > open_candle[0]


def test_weight_limit_429_then_418():
    server = SimulatorServer(Market(1, history_minutes=5), weight_limit=50).start()
    try:
        url = server.url + "/api/v3/trades"
        statuses = [requests.get(url, params={"symbol": "BTCUSDT"}).status_code for _ in range(6)]
        assert statuses[:2] == [200, 200]
        assert statuses[2] == 429
        assert statuses[-1] == 418
        r = requests.get(url, params={"symbol": "BTCUSDT"})
        assert r.status_code == 418 and int(r.headers["Retry-After"]) > 0
    finally:
        server.stop()


def test_fault_admin_api(sim):
    r = requests.post(sim.url + "/sim/faults", json={"kind": "500", "path": "/api/v3/ping"})
    assert r.status_code == 200
    assert requests.get(sim.url + "/sim/faults").json()[0]["kind"] == "500"
    assert requests.get(sim.url + "/api/v3/ping").status_code == 500
    assert requests.get(sim.url + "/api/v3/ping").status_code == 200  # times=1
    assert requests.post(sim.url + "/sim/faults", json={"kind": "nope"}).status_code == 400
    requests.post(sim.url + "/sim/faults", json={"kind": "unknown_symbol", "symbol": "ETHUSDT",
                                                  "times": None})
    assert requests.get(sim.url + "/api/v3/depth",
                        params={"symbol": "ETHUSDT"}).json()["code"] == -1121
    requests.delete(sim.url + "/sim/faults")
    assert requests.get(sim.url + "/api/v3/depth", params={"symbol": "ETHUSDT"}).status_code == 200


def test_well_formed_but_wrong_answers(sim, clock):
    clock.advance(5)  # some trades
    sim.faults.add(Fault("negative_value", path="/api/v3/trades"))
    sim.faults.add(Fault("foreign_symbol", path="/api/v3/ticker/price"))
    trades = requests.get(sim.url + "/api/v3/trades", params={"symbol": "BTCUSDT"}).json()
    assert trades[0]["price"].startswith("-") and not trades[1]["price"].startswith("-")
    prices = requests.get(sim.url + "/api/v3/ticker/price",
                          params={"symbols": '["BTCUSDT","ETHUSDT"]'}).json()
    assert [p["symbol"] for p in prices] == ["BTCUSDT", "ETHUSDT", "NOTASKEDBTCUSDT"]
    assert prices[2]["price"] == prices[0]["price"]


@pytest.mark.parametrize("params, code", [
    ({"symbols": '["BTCUSDT","BTCUSDT"]'}, -1151),
    ({"symbols": '["BTCUSDT",'}, -1135),
    ({"symbols": '["MATICUSDT"]'}, -1121),
])
def test_multi_symbol_errors(sim, params, code):
    r = requests.get(sim.url + "/api/v3/ticker/price", params=params)
    assert r.status_code == 400 and r.json()["code"] == code
