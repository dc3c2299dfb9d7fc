"""The simulator's WebSocket market streams: Binance's paths, frames and connection rules.

* ``/ws/<stream>`` (bare payloads) and ``/stream?streams=a/b`` (each event
  wrapped as ``{"stream": ..., "data": ...}``); live SUBSCRIBE, UNSUBSCRIBE and
  LIST_SUBSCRIPTIONS with ``{"result": ..., "id": ...}`` replies;
* ``<symbol>@trade`` events of the market's one trade log, the same trades
  /api/v3/trades and /historicalTrades return (other stream types are accepted
  and stay silent);
* server pings every 20 s, a connection without pong for 60 s is closed; more
  than 5 incoming messages in a second closes it with 1008; each connection is
  closed after ``lifetime_s`` (Binance: 24 h);
* the ``ws_*`` faults of ``faults.py`` (drop every connection, announce a
  shutdown, send a malformed frame, a foreign stream, a trade with a bad price).

It runs its own asyncio loop in a thread (:meth:`StreamServer.start`), next to
the HTTP server of ``server.py``, on a port of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from binance_cdc.binance.simulator import responses
from binance_cdc.binance.simulator.faults import WS_KINDS, Fault, FaultPlan
from binance_cdc.binance.simulator.market import Market

log = logging.getLogger(__name__)

TRADE = "@trade"
MAX_STREAMS = 1024
MAX_INCOMING_PER_S = 5
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 60.0
TICK_S = 0.01
MAX_QUEUED_FRAMES = 200_000
"""A client this far behind is closed (1008) rather than buffered without end."""
FOREIGN_STREAM = "zzznotsubscribedusdt@trade"


@dataclass(eq=False)
class _Client:
    conn: ServerConnection
    combined: bool
    streams: set[str]
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    incoming: deque[float] = field(default_factory=deque)


def parse_target(target: str) -> tuple[bool, list[str]] | None:
    """``/ws/<stream>`` or ``/stream?streams=a/b`` -> (combined, streams); None otherwise."""
    url = urlsplit(target)
    path = unquote(url.path)
    if path.startswith("/ws/") or path == "/ws":
        name = path[4:]
        return False, [name] if name else []
    if path in ("/stream", "/stream/"):
        named = parse_qs(url.query).get("streams", [""])[-1]
        return True, [s for s in named.split("/") if s]
    return None


class StreamServer:
    """WebSocket streams over ``market`` on ``host:port`` (0: a free port)."""

    def __init__(self, market: Market, faults: FaultPlan | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, lifetime_s: float = 86400.0,
                 ping_interval_s: float = PING_INTERVAL_S,
                 ping_timeout_s: float = PING_TIMEOUT_S) -> None:
        self.market = market
        self.faults = faults or FaultPlan()
        self.host = host
        self.port = port
        self.lifetime_s = lifetime_s
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.clients: set[_Client] = set()
        self.connections_total = 0
        self._cursor: dict[str, int] = {}
        self._bad_values: list[Fault] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._closing: set[asyncio.Future[None]] = set()  # referenced until done

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> StreamServer:
        """Listen and serve in a daemon thread; returns once listening (raises OSError if not)."""
        self._thread = threading.Thread(target=self._run, name="simulator-streams", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to start() in the caller's thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        server: Server
        async with serve(self._handle, self.host, self.port, process_request=self._check,
                         ping_interval=self.ping_interval_s, ping_timeout=self.ping_timeout_s,
                         compression=None, max_size=2**16) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            ticker = asyncio.create_task(self._tick_forever())
            await self._stopped.wait()
            ticker.cancel()
            for client in list(self.clients):
                client.conn.transport.abort()

    # -- connections ----------------------------------------------------------------------
    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        target = parse_target(request.path)
        if target is None:
            return connection.respond(HTTPStatus.NOT_FOUND, f"unknown path {request.path}\n")
        if len(target[1]) > MAX_STREAMS:
            return connection.respond(HTTPStatus.BAD_REQUEST,
                                      f"at most {MAX_STREAMS} streams per connection\n")
        return None

    async def _handle(self, conn: ServerConnection) -> None:
        target = parse_target(conn.request.path if conn.request else "")
        assert target is not None  # _check refused anything else
        client = _Client(conn, target[0], set(target[1]))
        self._follow(client.streams)
        self.clients.add(client)
        self.connections_total += 1
        sender = asyncio.create_task(self._send_forever(client))
        try:
            async with asyncio.timeout(self.lifetime_s):
                async for message in conn:
                    if not self._within_rate(client):
                        await conn.close(1008, "Too many requests")
                        break
                    await self._control(client, message)
        except TimeoutError:
            await conn.close(1001, "connection lifetime reached")
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            self.clients.discard(client)

    def _within_rate(self, client: _Client) -> bool:
        now = time.monotonic()
        client.incoming.append(now)
        while client.incoming and client.incoming[0] <= now - 1.0:
            client.incoming.popleft()
        return len(client.incoming) <= MAX_INCOMING_PER_S

    async def _control(self, client: _Client, message: str | bytes) -> None:
        """Answer SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS like Binance does."""
        try:
            request = json.loads(message)
        except ValueError as exc:
            await client.conn.send(json.dumps({"error": {
                "code": 3, "msg": f"Invalid JSON: {exc}"}, "id": None}))
            return
        request_id = request.get("id") if isinstance(request, dict) else None
        method = request.get("method") if isinstance(request, dict) else None
        params = request.get("params", []) if isinstance(request, dict) else []
        if method == "LIST_SUBSCRIPTIONS":
            reply: Any = {"result": sorted(client.streams), "id": request_id}
        elif method in ("SUBSCRIBE", "UNSUBSCRIBE") and isinstance(params, list):
            if method == "SUBSCRIBE" and len(client.streams | set(params)) > MAX_STREAMS:
                reply = {"error": {"code": 2, "msg": f"Invalid request: more than {MAX_STREAMS} "
                                   "streams"}, "id": request_id}
            else:
                if method == "SUBSCRIBE":
                    self._follow(set(params))
                    client.streams |= set(params)
                else:
                    client.streams -= set(params)
                reply = {"result": None, "id": request_id}
        else:
            reply = {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"},
                     "id": request_id}
        await client.conn.send(json.dumps(reply))

    def _follow(self, streams: set[str]) -> None:
        """Start pushing the trades of these streams' symbols from now on."""
        with self.market.lock:
            for stream in streams:
                symbol = self._symbol_of(stream)
                if symbol is not None and symbol not in self._cursor:
                    market = self.market.get(symbol)
                    assert market is not None
                    self._cursor[symbol] = market.trades[-1][0] if market.trades \
                        else market.next_trade_id - 1

    def _symbol_of(self, stream: str) -> str | None:
        if not stream.endswith(TRADE):
            return None
        name = stream[: -len(TRADE)]
        return next((s for s in self.market.symbols if s.lower() == name), None)

    async def _send_forever(self, client: _Client) -> None:
        try:
            while True:
                await client.conn.send(await client.queue.get())
        except ConnectionClosed:
            pass

    # -- pushing trades -------------------------------------------------------------------
    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self._tick()
            except Exception:  # one bad tick must not end the streams
                log.exception("stream tick failed")

    def _tick(self) -> None:
        if self.clients:
            fault = self.faults.take("/stream", list(self._cursor), kinds=WS_KINDS)
            if fault is not None and fault.kind == "ws_bad_value":
                self._bad_values.append(fault)
            elif fault is not None:
                self._inject(fault)
        events = self._new_trades()
        if not events:
            return
        for client in list(self.clients):
            frames = [combined if client.combined else raw
                      for stream, combined, raw in events if stream in client.streams]
            if client.queue.qsize() + len(frames) > MAX_QUEUED_FRAMES:
                self._close(client, 1008, "client too slow")
                continue
            for frame in frames:
                client.queue.put_nowait(frame)

    def _close(self, client: _Client, code: int, reason: str) -> None:
        """Close ``client``'s connection in the background (referenced until done)."""
        closing = asyncio.ensure_future(client.conn.close(code, reason))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    def _new_trades(self) -> list[tuple[str, str, str]]:
        """(stream, combined frame, raw frame) of every trade since the last tick, by time."""
        now_ms = self.market.now_ms()
        out: list[tuple[int, str, str, str]] = []
        with self.market.lock:
            for symbol, cursor in list(self._cursor.items()):
                market = self.market.get(symbol)
                if market is None:  # delisted
                    del self._cursor[symbol]
                    continue
                fresh = []
                for trade in reversed(market.trades):
                    if trade[0] <= cursor:
                        break
                    fresh.append(trade)
                if not fresh:
                    continue
                self._cursor[symbol] = fresh[0][0]
                stream = symbol.lower() + TRADE
                for trade in reversed(fresh):
                    payload = responses.trade_event(market, trade, now_ms)
                    bad = next((f for f in self._bad_values if f.symbol in (None, symbol)), None)
                    if bad is not None:
                        self._bad_values.remove(bad)
                        payload["p"] = "not-a-number"
                    raw = json.dumps(payload, ensure_ascii=False)
                    out.append((trade[3], stream, f'{{"stream": "{stream}", "data": {raw}}}', raw))
        out.sort(key=lambda e: e[0])
        return [(stream, combined, raw) for _, stream, combined, raw in out]

    def _inject(self, fault: Fault) -> None:
        log.info("injecting %s into %d stream connection(s)", fault.kind, len(self.clients))
        for client in list(self.clients):
            if fault.kind == "ws_disconnect":
                client.conn.transport.abort()
                continue
            if fault.kind == "ws_shutdown":
                event = {"e": "serverShutdown", "E": self.market.now_ms()}
                frame = json.dumps({"stream": "!serverShutdown", "data": event}
                                   if client.combined else event)
                client.queue.put_nowait(frame)
                asyncio.get_running_loop().call_later(
                    max(fault.delay_s, 1.0), self._close, client, 1001, "server shutdown")
            elif fault.kind == "ws_malformed":
                client.queue.put_nowait('{"stream": "btcusdt@trade", "data": {"e": "trade", "s')
            elif fault.kind == "ws_foreign":
                data = {"e": "trade", "E": self.market.now_ms(), "s": "ZZZNOTSUBSCRIBEDUSDT",
                        "t": 1, "p": "1.00000000", "q": "1.00000000", "T": self.market.now_ms(),
                        "m": False, "M": True}
                client.queue.put_nowait(json.dumps({"stream": FOREIGN_STREAM, "data": data}
                                                   if client.combined else data))
