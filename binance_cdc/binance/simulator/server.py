"""The simulator's HTTP front: Binance's public paths, weights and errors, stdlib only.

Serves ``/api/v3/{ping,time,exchangeInfo,trades,historicalTrades,depth,klines,
ticker/24hr,ticker/price}`` with real shapes and the ``X-MBX-USED-WEIGHT-1M``
header, plus an admin API under ``/sim/`` (``GET /sim/state``, ``GET|POST|DELETE
/sim/faults``). Start it in a thread (:meth:`SimulatorServer.start`, for tests)
or in the foreground (:meth:`SimulatorServer.serve_forever`, for the CLI).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from binance_cdc.binance.simulator import responses
from binance_cdc.binance.simulator.faults import (
    Fault,
    FaultPlan,
    add_foreign_symbol,
    corrupt_first_number,
    negate_first_number,
)
from binance_cdc.binance.simulator.limiter import WeightLimiter
from binance_cdc.binance.simulator.market import INTERVAL_MINUTES, Market, SymbolMarket
from binance_cdc.binance.weights import WEIGHT_LIMIT_PER_MINUTE, request_weight

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer in Binance's shape: HTTP status plus {"code", "msg"}."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _bad_symbol() -> ApiError:
    return ApiError(400, -1121, "Invalid symbol.")


class SimulatorServer:
    """The simulated exchange on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, market: Market, *, host: str = "127.0.0.1", port: int = 0,
                 weight_limit: int = WEIGHT_LIMIT_PER_MINUTE,
                 faults: FaultPlan | None = None) -> None:
        self.market = market
        self.faults = faults or FaultPlan()
        self.limiter = WeightLimiter(weight_limit)
        self.weight_limit = weight_limit
        self.requests: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.sim = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        """Serve in a daemon thread (tests); returns self."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def count(self, path: str) -> None:
        with self._count_lock:
            self.requests[path] += 1

    # -- endpoint logic ------------------------------------------------------------------
    def symbols_of(self, params: dict[str, str]) -> list[str] | None:
        """The symbols a request names (None: all), validated like Binance does."""
        if "symbol" in params:
            return [params["symbol"]]
        if "symbols" not in params:
            return None
        try:
            symbols = json.loads(params["symbols"])
        except ValueError:
            raise ApiError(400, -1135, "Invalid JSON request.") from None
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ApiError(400, -1135, "Invalid JSON request.")
        if len(set(symbols)) != len(symbols):
            raise ApiError(400, -1151, "Symbol is present multiple times in the list.")
        return symbols

    def _one(self, params: dict[str, str]) -> SymbolMarket:
        if not params.get("symbol"):
            raise ApiError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, "
                                       "or malformed.")
        market = self.market.get(params["symbol"])
        if market is None:
            raise _bad_symbol()
        return market

    def _many(self, params: dict[str, str]) -> tuple[list[SymbolMarket], bool]:
        named = self.symbols_of(params)
        chosen = named if named is not None else list(self.market.symbols)
        markets = [self.market.get(s) for s in chosen]
        if any(m is None for m in markets):
            raise _bad_symbol()
        return markets, "symbol" in params  # type: ignore[return-value]

    def payload(self, path: str, params: dict[str, str]) -> Any:
        if path == "/api/v3/ping":
            return {}
        if path == "/api/v3/time":
            return {"serverTime": self.market.now_ms()}
        if path == "/api/v3/exchangeInfo":
            named = self.symbols_of(params)
            if named is not None and any(s not in self.market.symbols for s in named):
                raise _bad_symbol()
            return responses.exchange_info(self.market, named or list(self.market.symbols),
                                           self.weight_limit)
        if path in ("/api/v3/trades", "/api/v3/historicalTrades"):
            market = self._one(params)
            limit = min(_int(params, "limit", 500), 1000)
            from_id = _int(params, "fromId", -1) if "fromId" in params else None
            if path == "/api/v3/historicalTrades" and from_id is None:
                return responses.trades(market, limit)
            return responses.trades(market, limit, from_id)
        if path == "/api/v3/depth":
            return responses.depth(self._one(params), min(_int(params, "limit", 100), 5000))
        if path == "/api/v3/klines":
            market = self._one(params)
            interval = params.get("interval", "")
            if interval not in INTERVAL_MINUTES:
                raise ApiError(400, -1120, "Invalid interval.")
            start = _int(params, "startTime", 0) if "startTime" in params else None
            end = _int(params, "endTime", 0) if "endTime" in params else None
            return responses.klines(market, interval, min(_int(params, "limit", 500), 1000),
                                    start, end)
        if path in ("/api/v3/ticker/24hr", "/api/v3/ticker/price"):
            markets, single = self._many(params)
            render = responses.ticker_24hr if path.endswith("24hr") else responses.price
            bodies = [render(m) for m in markets]
            return bodies[0] if single else bodies
        raise ApiError(404, -1000, f"Unknown path {path}.")


def _int(params: dict[str, str], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except ValueError:
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.") from None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "binance-cdc-simulator"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle plus the client's
        # delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def sim(self) -> SimulatorServer:
        return self.server.sim  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-MBX-USED-WEIGHT-1M", str(self.sim.limiter.used))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, msg: str, retry_after: float | None = None) -> None:
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else None
        self._send(status, {"code": code, "msg": msg}, headers)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/sim/"):
            self._admin("GET", url.path)
            return
        sim = self.sim
        sim.count(url.path)
        verdict = sim.limiter.charge(request_weight(url.path, params))
        if verdict.status == 418:
            self._error(418, -1003, "Way too much request weight used; IP banned until later.",
                        verdict.retry_after)
            return
        if verdict.status == 429:
            self._error(429, -1003, f"Too much request weight used; current limit is "
                        f"{sim.weight_limit} request weight per 1 MINUTE.", verdict.retry_after)
            return
        try:
            named = sim.symbols_of(params) or []
        except ApiError:
            named = []
        fault = sim.faults.take(url.path, named)
        if fault is not None and self._fault_answered(fault):
            return
        try:
            with sim.market.lock:
                body = sim.payload(url.path, params)
        except ApiError as exc:
            self._error(exc.status, exc.code, exc.msg)
            return
        if fault is not None and fault.kind == "malformed":
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self._send(200, None, raw=data[: max(1, len(data) // 2)])
            return
        if fault is not None and fault.kind == "bad_value":
            corrupt_first_number(body)
        if fault is not None and fault.kind == "negative_value":
            negate_first_number(body)
        if fault is not None and fault.kind == "foreign_symbol":
            add_foreign_symbol(body)
        self._send(200, body)

    def _fault_answered(self, fault: Fault) -> bool:
        """Answer a status fault now (True), or prepare a body fault (False)."""
        if fault.kind == "429":
            self._error(429, -1003, "Too much request weight used (injected).", fault.retry_after)
        elif fault.kind == "418":
            self._error(418, -1003, "Way too much request weight used; IP banned (injected).",
                        fault.retry_after)
        elif fault.kind == "500":
            self._error(500, -1000, "An unknown error occurred while processing the request.")
        elif fault.kind == "unknown_symbol":
            self._error(400, -1121, "Invalid symbol.")
        else:
            if fault.kind == "slow":
                time.sleep(fault.delay_s)
            return False
        return True

    def do_POST(self) -> None:
        self._admin("POST", urlsplit(self.path).path)

    def do_DELETE(self) -> None:
        self._admin("DELETE", urlsplit(self.path).path)

    def _admin(self, method: str, path: str) -> None:
        sim = self.sim
        if path == "/sim/state" and method == "GET":
            self._send(200, {"symbols": list(sim.market.symbols), "used_weight": sim.limiter.used,
                             "requests": dict(sim.requests), "faults": sim.faults.list()})
        elif path == "/sim/faults" and method == "GET":
            self._send(200, sim.faults.list())
        elif path == "/sim/faults" and method == "DELETE":
            sim.faults.clear()
            self._send(200, [])
        elif path == "/sim/faults" and method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            try:
                fault = sim.faults.add(Fault.from_json(json.loads(self.rfile.read(length))))
            except (ValueError, TypeError) as exc:
                self._error(400, -1130, f"bad fault: {exc}")
                return
            self._send(200, {"added": fault.kind})
        else:
            self._error(404, -1000, f"Unknown admin path {method} {path}.")
