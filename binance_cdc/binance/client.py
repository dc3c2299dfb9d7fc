"""HTTP client of the Binance REST API (or the simulator at the same paths).

One pooled ``requests.Session`` with timeouts. Every HTTP or library failure is
translated into the project's errors here and nowhere else (``_translate``), and
the single retry loop (``get``) follows :class:`RetryPolicy` and
:class:`WeightBudget`. Bodies are decoded with ``parse_float=Decimal`` so no
number ever passes through a float.

Each request is bounded twice. In time, by a :class:`Deadline`
(BINANCE_REQUEST_DEADLINE_S) over all its attempts: every socket wait is
clamped to the time left, the body is read as it arrives (``read1``) with the
deadline checked between reads, and a retry whose delay does not fit is not
made. In size, by BINANCE_MAX_RESPONSE_BYTES: a declared Content-Length above it
is refused unread, otherwise the body is streamed and reading stops once it is
passed. (One gap: a server that sends the status line and headers a byte at a
time is bounded per byte by BINANCE_TIMEOUT_S, not by the deadline.)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
import urllib3

from binance_cdc.binance import metrics
from binance_cdc.binance.policy import RETRYABLE_STATUSES, Deadline, RetryPolicy, WeightBudget
from binance_cdc.binance.weights import request_weight
from binance_cdc.errors import (
    BinanceApiError,
    BinanceServerError,
    IpBannedError,
    PayloadError,
    RateLimitedError,
    RequestDeadlineError,
    ResponseTooLargeError,
    UnknownSymbolError,
)
from binance_cdc.settings import BinanceSettings, env_var_for

log = logging.getLogger(__name__)

USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
BAD_SYMBOL_CODE = -1121
READ_CHUNK = 64 * 1024
DEADLINE_SETTING = env_var_for("binance", "request_deadline_s")
SIZE_SETTING = env_var_for("binance", "max_response_bytes")


@dataclass
class CallStats:
    """What the client has spent so far; subtract two snapshots for one dataset's share."""

    requests: int = 0
    weight: int = 0
    retries: int = 0
    waited_s: float = 0.0

    def snapshot(self) -> CallStats:
        return CallStats(self.requests, self.weight, self.retries, self.waited_s)

    def since(self, earlier: CallStats) -> CallStats:
        return CallStats(self.requests - earlier.requests, self.weight - earlier.weight,
                         self.retries - earlier.retries, self.waited_s - earlier.waited_s)


def symbols_param(symbols: Sequence[str]) -> str:
    """The ``symbols`` query value: compact JSON, non-ASCII kept (requests URL-encodes it)."""
    return json.dumps(list(symbols), separators=(",", ":"), ensure_ascii=False)


def decode_json(body: bytes, *, endpoint: str, symbol: str | None = None) -> Any:
    """Parse a response body exactly: floats become Decimal; bad JSON is a PayloadError."""
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"response is not valid JSON ({exc}); first bytes {body[:60]!r}",
                           endpoint=endpoint, symbol=symbol) from exc


class BinanceClient:
    """GET the public market-data endpoints with retries and a weight budget.

    ``sleep`` is how the client waits (backoff, Retry-After, budget); the
    extractor passes one that returns early and raises when asked to stop.
    After a 418 the client refuses every further call: calling a banned IP
    only lengthens the ban.
    """

    def __init__(self, settings: BinanceSettings, *, policy: RetryPolicy | None = None,
                 budget: WeightBudget | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = settings.base_url.rstrip("/")
        self.timeout_s = settings.timeout_s
        self.deadline_s = settings.request_deadline_s
        self.max_response_bytes = settings.max_response_bytes
        self._clock = clock
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.budget = budget or WeightBudget(settings.weight_budget_per_minute)
        metrics.WEIGHT_BUDGET.set(self.budget.budget)
        self.stats = CallStats()
        self._session = session
        self._sleep = sleep
        self._banned: IpBannedError | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8)
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
            self._session.headers["Accept"] = "application/json"
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> BinanceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one retry loop --------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            symbol: str | None = None) -> Any:
        """GET ``path`` and return the decoded JSON, retrying what the policy and deadline allow."""
        params = dict(params or {})
        cost = request_weight(path, params)
        attempt = 0
        deadline: Deadline | None = None
        while True:
            if self._banned is not None:
                raise self._banned
            wait = self.budget.wait_for(cost)
            if wait > 0:
                log.info("weight budget %d/min reached (used %d); waiting %.1fs before %s",
                         self.budget.budget, self.budget.used, wait, path)
                if deadline is not None and not deadline.allows(wait):
                    raise self._past_deadline(path, deadline, attempt, "waiting for the "
                                              f"weight budget ({wait:.1f}s)")
                self._wait(wait)
            if deadline is None:
                deadline = Deadline(self.deadline_s, clock=self._clock)
            try:
                return self._once(path, params, cost, symbol, deadline)
            except IpBannedError as exc:
                self._banned = exc
                raise
            except BinanceApiError as exc:
                if exc.retryable and deadline.expired():
                    raise self._past_deadline(path, deadline, attempt + 1, exc) from exc
                delay = self.policy.delay(attempt, exc)
                if delay is None:
                    raise
                if not deadline.allows(delay):
                    raise self._past_deadline(path, deadline, attempt + 1,
                                              f"{exc}; the retry was due in {delay:.1f}s") from exc
                log.warning("%s failed (%s); retry %d/%d in %.1fs", path, exc, attempt + 1,
                            self.policy.max_retries, delay)
                self.stats.retries += 1
                self._wait(delay)
                attempt += 1

    def _past_deadline(self, path: str, deadline: Deadline, attempts: int,
                       last: object) -> RequestDeadlineError:
        return RequestDeadlineError(
            f"{path}: no complete answer within {DEADLINE_SETTING}={deadline.total_s:g}s "
            f"({attempts} attempt(s) in {deadline.elapsed():.1f}s; last: {last}); the exchange "
            f"is slow or unreachable: the next poll asks again, or raise {DEADLINE_SETTING}",
            endpoint=path, deadline_s=deadline.total_s, elapsed_s=deadline.elapsed(),
            attempts=attempts)

    def _wait(self, seconds: float) -> None:
        self.stats.waited_s += seconds
        self._sleep(seconds)

    def _once(self, path: str, params: dict[str, Any], cost: int, symbol: str | None,
              deadline: Deadline) -> Any:
        self.budget.spend(cost)
        self.stats.requests += 1
        self.stats.weight += cost
        url = self.base_url + path
        status, ok = None, False
        try:
            wait = deadline.timeout(self.timeout_s)
            try:
                response = self.session.get(url, params=params, timeout=(wait, wait),
                                            stream=True)
            except requests.RequestException as exc:
                raise BinanceServerError(f"no answer from {url}: {exc}; check BINANCE_BASE_URL "
                                         "and the network") from exc
            with response:
                status = response.status_code
                self.budget.observe(response.headers.get(USED_WEIGHT_HEADER))
                log.debug("GET %s %s -> %s (used weight %s)", path, params, status,
                          response.headers.get(USED_WEIGHT_HEADER))
                body = self._read_body(response, path, deadline)
            if status != 200:
                raise _translate(status, response.headers, body, path, params, symbol)
            decoded = decode_json(body, endpoint=path, symbol=symbol)
            ok = True
            return decoded
        finally:
            metrics.record_call(path, status, failed=not ok, weight_used=self.budget.used)

    def _read_body(self, response: requests.Response, path: str, deadline: Deadline) -> bytes:
        """The whole (decompressed) body, read as it arrives, within the size cap and deadline."""
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if (declared.isdigit() and int(declared) > limit
                and not response.headers.get("Content-Encoding")):
            raise ResponseTooLargeError(endpoint=path, size=int(declared), limit=limit,
                                        setting=SIZE_SETTING, declared=True)
        raw = response.raw
        body = bytearray()
        try:
            while True:
                if deadline.expired():
                    raise BinanceServerError(f"{path}: the answer was still arriving "
                                             f"({len(body)} bytes so far)")
                _set_read_timeout(raw, deadline.timeout(self.timeout_s))
                chunk = raw.read1(READ_CHUNK, decode_content=True)
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > limit:
                    raise ResponseTooLargeError(endpoint=path, size=len(body), limit=limit,
                                                setting=SIZE_SETTING, declared=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise BinanceServerError(f"{path}: the answer broke off after {len(body)} bytes: "
                                     f"{exc}") from exc

    # -- endpoints ---------------------------------------------------------------------
    def ping(self) -> None:
        self.get("/api/v3/ping")

    def server_time_ms(self) -> int:
        body = self.get("/api/v3/time")
        try:
            return int(body["serverTime"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadError("no integer serverTime", endpoint="/api/v3/time",
                               field="serverTime") from exc

    def exchange_info(self, symbols: Sequence[str] | None = None) -> Any:
        params = {"symbols": symbols_param(symbols)} if symbols else {}
        return self.get("/api/v3/exchangeInfo", params)

    def trades(self, symbol: str, limit: int) -> Any:
        return self.get("/api/v3/trades", {"symbol": symbol, "limit": limit}, symbol=symbol)

    def historical_trades(self, symbol: str, from_id: int, limit: int) -> Any:
        return self.get("/api/v3/historicalTrades",
                        {"symbol": symbol, "fromId": from_id, "limit": limit}, symbol=symbol)

    def depth(self, symbol: str, limit: int) -> Any:
        return self.get("/api/v3/depth", {"symbol": symbol, "limit": limit}, symbol=symbol)

    def klines(self, symbol: str, interval: str, *, start_time_ms: int | None = None,
               limit: int = 500) -> Any:
        params: dict[str, Any] = {"symbol": symbol, "interval": interval, "limit": limit}
        if start_time_ms is not None:
            params["startTime"] = start_time_ms
        return self.get("/api/v3/klines", params, symbol=symbol)

    def ticker_24hr(self, symbols: Sequence[str]) -> Any:
        return self.get("/api/v3/ticker/24hr", {"symbols": symbols_param(symbols)})

    def ticker_price(self, symbols: Sequence[str]) -> Any:
        return self.get("/api/v3/ticker/price", {"symbols": symbols_param(symbols)})


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _set_read_timeout(raw: urllib3.HTTPResponse, seconds: float) -> None:
    """Bound the next socket wait of a streamed body (urllib3 set it once, per request)."""
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _translate(status: int, headers: Mapping[str, str], content: bytes, path: str,
               params: Mapping[str, Any], symbol: str | None) -> BinanceApiError:
    """Map a non-200 answer to our error tree (the only place that knows HTTP statuses)."""
    code: int | None = None
    message = content[:200].decode("utf-8", errors="replace")
    try:
        body = json.loads(content.decode("utf-8"))
        if isinstance(body, dict):
            code = body.get("code") if isinstance(body.get("code"), int) else None
            message = str(body.get("msg", message))
    except (UnicodeDecodeError, ValueError):
        pass
    if status == 429:
        wait = _retry_after(headers)
        return RateLimitedError(
            f"{path}: request weight limit exceeded (HTTP 429, code {code}): {message}; "
            f"Retry-After {wait}s", retry_after=wait if wait is not None else 60.0, code=code)
    if status == 418:
        wait = _retry_after(headers)
        return IpBannedError(
            f"{path}: Binance banned this IP (HTTP 418) for {wait}s after ignoring 429s; "
            "stopped calling. Wait for the ban to lift, then lower the poll rates "
            "(EXTRACT_*_INTERVAL_S) or BINANCE_WEIGHT_BUDGET_PER_MINUTE", retry_after=wait,
            code=code)
    if status in RETRYABLE_STATUSES or status >= 500:
        return BinanceServerError(f"{path}: server error HTTP {status}: {message}",
                                  status=status, code=code,
                                  retryable=status in RETRYABLE_STATUSES)
    if code == BAD_SYMBOL_CODE:
        named = symbol or str(params.get("symbol") or params.get("symbols") or "?")
        return UnknownSymbolError(
            named, f"{path}: invalid symbol {named!r} (code -1121: {message}); "
            "delisted or renamed? remove it from BINANCE_SYMBOLS")
    return BinanceApiError(f"{path} rejected the request (HTTP {status}, code {code}): {message}",
                           status=status, code=code)
