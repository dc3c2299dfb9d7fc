"""The simulator's WebSocket streams: Binance's paths, frames and rules, on a loopback socket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.binance.simulator.market import MINUTE_MS, Market
from binance_cdc.binance.simulator.server import SimulatorServer
from binance_cdc.binance.simulator.streams import FOREIGN_STREAM, StreamServer


@pytest.fixture
def market(sim: SimulatorServer) -> Market:
    """The conftest simulator's market, with no trades until a test starts them."""
    for symbol in sim.market.symbols:
        sim.market.set_trade_rate(symbol, 0)
    return sim.market


@pytest.fixture
def rest(sim: SimulatorServer, market: Market) -> SimulatorServer:
    return sim


@pytest.fixture
def streams(market: Market, rest: SimulatorServer) -> Iterator[StreamServer]:
    server = StreamServer(market, rest.faults, lifetime_s=30).start()
    try:
        yield server
    finally:
        server.stop()


def connect(url: str) -> ClientConnection:
    """A client that buffers everything: a test that stops reading must not stall the close."""
    return ws_connect(url, max_queue=None, close_timeout=2)


def frames(ws: ClientConnection, count: int, timeout_s: float = 5.0) -> list[dict]:
    out = []
    deadline = time.monotonic() + timeout_s
    while len(out) < count:
        out.append(json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
    return out


def connected(streams: StreamServer, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while len(streams.clients) < count:
        assert time.monotonic() < deadline, "the client did not register"
        time.sleep(0.01)


def test_combined_stream_pushes_the_trades_rest_returns(market, clock, rest, streams):
    with connect(streams.url + "/stream?streams=btcusdt@trade/ethusdt@trade") as ws:
        connected(streams)
        market.set_trade_rate("BTCUSDT", 50)
        market.set_trade_rate("ETHUSDT", 50)
        clock.advance(1.0)
        got = frames(ws, 60)
    assert {f["stream"] for f in got} == {"btcusdt@trade", "ethusdt@trade"}
    for symbol in ("BTCUSDT", "ETHUSDT"):
        events = [f["data"] for f in got if f["data"]["s"] == symbol]
        assert set(events[0]) == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
        ids = [e["t"] for e in events]
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # consecutive per symbol
        page = requests.get(rest.url + "/api/v3/historicalTrades",
                            params={"symbol": symbol, "fromId": ids[0], "limit": len(ids)}).json()
        assert [(t["id"], t["price"], t["qty"], t["time"], t["isBuyerMaker"]) for t in page] == \
            [(e["t"], e["p"], e["q"], e["T"], e["m"]) for e in events]


def test_klines_count_the_streamed_trades(market, clock, rest, streams):
    clock.advance(60 - clock() % 60 + 0.01)  # the start of a minute
    with connect(streams.url + "/ws/bnbusdt@trade") as ws:  # raw stream: bare payloads
        connected(streams)
        market.set_trade_rate("BNBUSDT", 40)
        clock.advance(2.0)
        market.set_trade_rate("BNBUSDT", 0)
        events = []
        try:
            while True:
                events.append(json.loads(ws.recv(timeout=0.5)))
        except TimeoutError:
            pass
    assert events and all(e["e"] == "trade" for e in events)
    minute = events[0]["T"] // MINUTE_MS * MINUTE_MS
    (kline,) = requests.get(rest.url + "/api/v3/klines", params={
        "symbol": "BNBUSDT", "interval": "1m", "startTime": minute, "limit": 1}).json()
    assert kline[8] == len(events)
    assert Decimal(kline[5]) == sum(Decimal(e["q"]) for e in events)
    assert Decimal(kline[4]) == Decimal(events[-1]["p"])


def test_live_subscribe_and_list(streams):
    with connect(streams.url + "/stream") as ws:
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1}))
        assert json.loads(ws.recv(timeout=5)) == {"result": None, "id": 1}
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": "x"}))
        assert json.loads(ws.recv(timeout=5)) == {"result": ["btcusdt@trade"], "id": "x"}
        ws.send(json.dumps({"method": "NOPE", "id": 2}))
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == 2
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == 3


def test_more_than_5_messages_a_second_closes_with_1008(streams):
    with connect(streams.url + "/stream") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            for i in range(10):
                ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
                ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_connections_end_after_their_lifetime(market, rest):
    server = StreamServer(market, rest.faults, lifetime_s=0.3).start()
    try:
        with connect(server.url + "/stream?streams=btcusdt@trade") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    finally:
        server.stop()


def test_unknown_paths_are_refused(streams):
    with pytest.raises(InvalidStatus) as refused:
        connect(streams.url + "/api/v3/trades")
    assert refused.value.response.status_code == 404


def test_malformed_and_foreign_frame_faults(rest, streams):
    with connect(streams.url + "/stream?streams=btcusdt@trade") as ws:
        connected(streams)
        requests.post(rest.url + "/sim/faults", json={"kind": "ws_malformed"})  # the admin API
        malformed = ws.recv(timeout=5)
        requests.post(rest.url + "/sim/faults", json={"kind": "ws_foreign"})
        foreign = json.loads(ws.recv(timeout=5))
    with pytest.raises(ValueError):
        json.loads(malformed)
    assert foreign["stream"] == FOREIGN_STREAM and foreign["data"]["e"] == "trade"


def test_bad_value_fault_corrupts_one_trade(market, clock, rest, streams):
    rest.faults.add(Fault("ws_bad_value", symbol="ETHUSDT"))
    with connect(streams.url + "/stream?streams=ethusdt@trade") as ws:
        connected(streams)
        market.set_trade_rate("ETHUSDT", 50)
        clock.advance(1.0)
        prices = [f["data"]["p"] for f in frames(ws, 20)]
    assert prices[0] == "not-a-number" and "not-a-number" not in prices[1:]


def test_disconnect_and_shutdown_faults(rest, streams):
    with connect(streams.url + "/stream?streams=btcusdt@trade") as ws:
        connected(streams)
        rest.faults.add(Fault("ws_disconnect"))
        with pytest.raises(ConnectionClosed) as dropped:
            ws.recv(timeout=5)
    assert dropped.value.rcvd is None  # no close frame: a network drop
    with connect(streams.url + "/stream?streams=btcusdt@trade") as ws:
        connected(streams)
        rest.faults.add(Fault("ws_shutdown", delay_s=0.2))
        assert json.loads(ws.recv(timeout=5))["stream"] == "!serverShutdown"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
