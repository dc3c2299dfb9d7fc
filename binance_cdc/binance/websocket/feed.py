"""One WebSocket connection's worth of streams, kept open for as long as the writer runs.

:class:`StreamFeed` connects to the combined-stream URL (streams beyond what the
URL holds are subscribed with paced SUBSCRIBE messages), hands every frame to
``on_frame`` and keeps the connection alive by Binance's rules:

* our pings every LIVE_PING_INTERVAL_S, a connection without pong for
  LIVE_PING_TIMEOUT_S is dropped (the library answers the server's pings);
* before the 24-hour cut (or on ``serverShutdown``) a replacement connection is
  opened first and the old one closed once the new one delivers (make before
  break: no hole; the duplicates of the overlap are dropped downstream);
* a lost connection is re-opened after a jittered backoff, every attempt counted
  against the per-IP connection limit; ``on_connected(False)`` then tells the
  writer that trades may have been missed meanwhile.

Library errors are translated here and nowhere else (:func:`describe`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from binance_cdc.binance.websocket.messages import Message, Shutdown, combined_url, subscribe_message
from binance_cdc.binance.websocket.policy import AttemptLimiter, MessagePacer, ReconnectBackoff
from binance_cdc.errors import ConfigError
from binance_cdc.settings import LiveTradesSettings

log = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 10.0
SWITCH_OVER_TIMEOUT_S = 10.0
"""During a rotation, how long the new connection may take to deliver before the old one closes."""
MAX_FRAME_BYTES = 2**20
_request_ids = itertools.count(1)


def describe(exc: BaseException) -> str:
    """A one-line reason for a connection attempt that failed."""
    if isinstance(exc, websockets.exceptions.InvalidStatus):
        return f"the server refused the handshake with HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return f"no handshake within {OPEN_TIMEOUT_S:.0f}s"
    return f"{type(exc).__name__}: {exc}"


def describe_close(ws: ClientConnection) -> str:
    """A one-line reason for a connection that ended."""
    if ws.close_code is None:
        return "the connection dropped without a close frame"
    reason = f" {ws.close_reason!r}" if ws.close_reason else ""
    return f"the connection was closed with code {ws.close_code}{reason}"


@dataclass
class _Connection:
    ws: ClientConnection
    pump: asyncio.Task[None] | None = None
    delivered: asyncio.Event = field(default_factory=asyncio.Event)
    shutdown: asyncio.Event = field(default_factory=asyncio.Event)


class StreamFeed:
    """Keeps one connection (and its replacements) open until ``stop`` is set."""

    def __init__(self, settings: LiveTradesSettings, name: str, url_streams: list[str],
                 subscribe_batches: list[list[str]], *, on_frame: Callable[[str | bytes], Message],
                 on_connected: Callable[[bool], None], attempts: AttemptLimiter,
                 backoff: ReconnectBackoff, stop: asyncio.Event) -> None:
        self.settings = settings
        self.name = name
        self.url = combined_url(settings.streams_url, url_streams)
        self.subscribe_batches = subscribe_batches
        self.on_frame = on_frame
        self.on_connected = on_connected
        self.attempts = attempts
        self.backoff = backoff
        self.stop = stop
        self.connects = 0
        self.drops = 0
        self.rotations = 0

    async def run(self) -> None:
        """Connect, pump, rotate and reconnect until ``stop``; closes what it opened."""
        current = await self._open_with_retry(continuous=False)
        while current is not None:
            outcome = await self._watch(current)
            if outcome == "stop":
                await self._close(current)
                return
            if outcome == "lost":
                self.drops += 1
                delay = self.backoff.next_delay()
                log.warning("%s: %s; reconnecting in %.2fs", self.name,
                            describe_close(current.ws), delay)
                await self._pause(delay)
                current = await self._open_with_retry(continuous=False)
                continue
            self.rotations += 1
            log.info("%s: %s; opening a replacement before closing this connection",
                     self.name, outcome)
            replacement = await self._open_with_retry(continuous=True)
            if replacement is not None:
                try:
                    await asyncio.wait_for(replacement.delivered.wait(), SWITCH_OVER_TIMEOUT_S)
                except TimeoutError:
                    log.warning("%s: the replacement delivered nothing within %.0fs; switching "
                                "anyway", self.name, SWITCH_OVER_TIMEOUT_S)
                if current.pump is not None and current.pump.done():
                    self.on_connected(False)  # the old one died during the overlap
            await self._close(current)
            current = replacement

    async def _watch(self, conn: _Connection) -> str:
        """Wait until the connection ends, a rotation is due, or ``stop``."""
        s = self.settings
        rotate_in = max(0.0, s.connection_lifetime_s - s.rotate_margin_s)
        assert conn.pump is not None
        waits: dict[asyncio.Future[Any], str] = {
            conn.pump: "lost",
            asyncio.ensure_future(self.stop.wait()): "stop",
            asyncio.ensure_future(conn.shutdown.wait()): "the server announced a shutdown",
            asyncio.ensure_future(asyncio.sleep(rotate_in)):
                f"the connection is {rotate_in:.0f}s old (Binance closes connections at "
                f"{s.connection_lifetime_s:.0f}s)",
        }
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            if task is not conn.pump:
                task.cancel()
        if self.stop.is_set():
            return "stop"
        if conn.pump in done:
            return "lost"
        return waits[next(iter(done))]

    async def _open_with_retry(self, *, continuous: bool) -> _Connection | None:
        while not self.stop.is_set():
            wait = self.attempts.wait_s()
            if wait > 0:
                log.warning("%s: %d connection attempts in 5 minutes reached "
                            "(LIVE_MAX_CONNECTIONS_PER_5M); waiting %.0fs", self.name,
                            self.attempts.limit, wait)
                await self._pause(wait)
                continue
            self.attempts.record()
            try:
                ws = await connect(self.url, open_timeout=OPEN_TIMEOUT_S,
                                   ping_interval=self.settings.ping_interval_s,
                                   ping_timeout=self.settings.ping_timeout_s,
                                   max_size=MAX_FRAME_BYTES, compression=None)
            except websockets.exceptions.InvalidURI as exc:
                raise ConfigError(f"LIVE_WS_URL {self.settings.ws_url!r} is not a WebSocket "
                                  f"URL ({exc}); expected e.g. wss://stream.binance.com:9443 "
                                  "or the simulator's ws://127.0.0.1:8766") from exc
            except (OSError, TimeoutError, websockets.exceptions.InvalidHandshake) as exc:
                delay = self.backoff.next_delay()
                log.warning("%s: cannot connect to %s: %s; retrying in %.1fs", self.name,
                            self.settings.ws_url, describe(exc), delay)
                await self._pause(delay)
                continue
            self.connects += 1
            conn = _Connection(ws)
            conn.pump = asyncio.create_task(self._pump(conn), name=f"{self.name}-pump")
            await self._subscribe(ws)
            log.info("%s: connected to %s", self.name, self.settings.ws_url)
            self.on_connected(continuous)
            return conn
        return None

    async def _subscribe(self, ws: ClientConnection) -> None:
        pacer = MessagePacer(self.settings.max_messages_per_s)
        for batch in self.subscribe_batches:
            await asyncio.sleep(pacer.wait_s())
            await ws.send(subscribe_message(batch, next(_request_ids)))
            pacer.sent()

    async def _pump(self, conn: _Connection) -> None:
        """Hand every frame on until the connection ends (normally or not)."""
        try:
            async for frame in conn.ws:
                if not conn.delivered.is_set():
                    conn.delivered.set()
                    self.backoff.reset()  # a connection that delivers is a healthy one
                if isinstance(self.on_frame(frame), Shutdown):
                    conn.shutdown.set()
        except websockets.exceptions.ConnectionClosed:
            pass  # the reason is on the connection (describe_close)

    async def _close(self, conn: _Connection) -> None:
        await conn.ws.close()
        if conn.pump is not None:
            await asyncio.wait([conn.pump], timeout=OPEN_TIMEOUT_S)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            pass
