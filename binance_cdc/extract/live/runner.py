"""Run the live trade writer: feeds -> tracker -> sink -> Postgres, with REST repairs.

One asyncio loop reads every connection and decodes frames; Postgres commits
and REST repairs run in worker threads so reading never waits for them. The
symbols are checked against exchangeInfo first (an unknown one is a
ConfigError: nothing starts). SIGINT/SIGTERM close the connections, let a
repair in flight end, commit what is queued and return.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from binance_cdc.binance.client import BinanceClient
from binance_cdc.binance.websocket.feed import StreamFeed
from binance_cdc.binance.websocket.messages import (
    Message,
    Reply,
    Shutdown,
    Skip,
    Trade,
    decode,
    split_streams,
    trade_stream,
)
from binance_cdc.binance.websocket.policy import AttemptLimiter, ReconnectBackoff
from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.errors import BinanceApiError, ConfigError, StoreError
from binance_cdc.extract.live import progress
from binance_cdc.extract.live.repair import Repair, repair
from binance_cdc.extract.live.sink import TradeSink
from binance_cdc.extract.live.tracker import Tracker
from binance_cdc.extract.runner import StopRequested, stop_on_signals
from binance_cdc.extract.symbols import SymbolRegistry
from binance_cdc.extract.trades import format_ranges
from binance_cdc.postgres.store import PostgresStore
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

URL_CHARS = 4000
"""Stream names per connection URL (servers cap the request line; the rest is SUBSCRIBEd)."""
_ID = RECENT_TRADES.column_names.index("trade_id")
STATS_INTERVAL_S = 10.0
SKIPS_LOGGED_PER_INTERVAL = 10
REPAIR_IDLE_S = 0.05
STOP_POLL_S = 0.05
DRAIN_TIMEOUT_S = 30.0


@dataclass
class LiveStats:
    """Counters of one run (the summary line, and what the benchmark reads)."""

    received: int = 0
    duplicates: int = 0
    repaired: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    written: int = 0
    commits: int = 0
    known_gaps: int = 0
    latencies_ms: list[int] = field(default_factory=list)

    def line(self) -> str:
        skipped = " ".join(f"{k}={v}" for k, v in sorted(self.skipped.items())) or "none"
        return (f"received={self.received} written={self.written} commits={self.commits} "
                f"duplicates={self.duplicates} repaired={self.repaired} "
                f"new_known_gaps={self.known_gaps} skipped: {skipped}")


def check_symbols(client: BinanceClient, configured: list[str]) -> list[str]:
    """The configured symbols if the exchange lists every one of them as TRADING."""
    registry = SymbolRegistry(client, configured)
    symbols = registry.valid()
    if registry.skipped:
        problems = "; ".join(f"{s}: {why}" for s, why in registry.skipped.items())
        raise ConfigError(f"cannot stream trades of {', '.join(registry.skipped)} ({problems}); "
                          "fix BINANCE_SYMBOLS or --symbols")
    if not symbols:
        raise ConfigError("no symbols to stream; set BINANCE_SYMBOLS or --symbols")
    return symbols


def run(settings: Settings, *, stop: threading.Event | None = None) -> LiveStats:
    """The writer's entry point: runs until SIGINT/SIGTERM (or ``stop``), returns the counters."""
    stop = stop or threading.Event()

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise StopRequested()

    client = BinanceClient(settings.binance, sleep=sleep)
    store = PostgresStore(settings.postgres)
    try:
        symbols = check_symbols(client, settings.binance.symbols)
        progress.ensure_table(store)
        stored = progress.load(store, symbols)
        writer = LiveWriter(settings, client, store, symbols, stop)
        for symbol, (last, gaps) in stored.items():
            writer.tracker.resume(symbol, last, gaps)
        log.info("streaming trades of %s from %s (resuming %d symbol(s) from stored progress)",
                 ", ".join(symbols), settings.live.ws_url, len(stored))
        with stop_on_signals(stop, "closing the streams and committing the queued trades"):
            return asyncio.run(writer.run())
    finally:
        client.close()
        store.close()


class LiveWriter:
    """The loop of one run; build, then ``await run()``."""

    def __init__(self, settings: Settings, client: BinanceClient, store: PostgresStore,
                 symbols: list[str], stop: threading.Event) -> None:
        self.settings = settings
        self.live = settings.live
        self.client = client
        self.stop = stop
        self.tracker = Tracker(symbols)
        self.sink = TradeSink(store, self.tracker)
        self.stats = LiveStats()
        self.subscribed = {trade_stream(s): s for s in symbols}
        self.feeds: list[StreamFeed] = []
        self._skips_logged = 0
        self._stop = asyncio.Event()  # the loop's view of ``stop``
        self._wake = asyncio.Event()  # a full batch is waiting, or the run is draining
        self._draining = False

    # -- frames ---------------------------------------------------------------------------
    def on_frame(self, frame: str | bytes) -> Message:
        message = decode(frame, self.subscribed)
        now = time.monotonic()
        if isinstance(message, Trade):
            if self.tracker[message.symbol].accept(message.trade_id, now):
                self.stats.received += 1
                self.sink.add(message.row, message.event_ms, now)
                if len(self.sink) >= self.live.batch_rows:
                    self._wake.set()
            else:
                self.stats.duplicates += 1
        elif isinstance(message, Skip):
            self.stats.skipped[message.reason] += 1
            if message.symbol is not None and message.trade_id is not None:
                self.tracker[message.symbol].expect(message.trade_id)
            if self._skips_logged < SKIPS_LOGGED_PER_INTERVAL:
                self._skips_logged += 1
                log.warning("skipped a %s message (%s): %s", message.reason, message.detail,
                            message.text)
        elif isinstance(message, Reply) and message.error:
            self.stats.errors += 1
            log.warning("the stream answered request %s with an error: %s", message.request_id,
                        message.error)
        elif isinstance(message, Shutdown):
            log.info("the stream announced a server shutdown; switching connections")
        return message

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> LiveStats:
        attempts = AttemptLimiter(self.live.max_connections_per_5m)
        streams = list(self.subscribed)
        for i, (in_url, batches) in enumerate(split_streams(
                streams, self.live.streams_per_connection, URL_CHARS)):
            symbols = [self.subscribed[s] for s in in_url + [x for b in batches for x in b]]
            self.feeds.append(StreamFeed(
                self.live, f"connection {i + 1}", in_url, batches, on_frame=self.on_frame,
                on_connected=self._connected_callback(symbols), attempts=attempts,
                backoff=ReconnectBackoff(self.live.reconnect_base_s, self.live.reconnect_max_s),
                stop=self._stop))
        producers = [asyncio.create_task(f.run(), name=f.name) for f in self.feeds]
        producers += [asyncio.create_task(self._repair_loop(), name="repair"),
                      asyncio.create_task(self._stats_loop(), name="stats")]
        flusher = asyncio.create_task(self._flush_loop(), name="flush")
        stopper = asyncio.create_task(self._stop_requested())
        error: BaseException | None = None
        try:
            done, _ = await asyncio.wait([*producers, flusher, stopper],
                                         return_when=asyncio.FIRST_COMPLETED)
            error = next((t.exception() for t in done if t is not stopper and t.exception()),
                         None)
        finally:
            self.stop.set()
            self._stop.set()
            stopper.cancel()
            await asyncio.wait(producers, timeout=DRAIN_TIMEOUT_S)
            self._draining = True
            self._wake.set()
            await asyncio.wait([flusher], timeout=DRAIN_TIMEOUT_S)
        error = error or next((t.exception() for t in [*producers, flusher]
                               if t.done() and not t.cancelled() and t.exception()), None)
        self.stats.written, self.stats.commits = self.sink.written, self.sink.commits
        self.stats.latencies_ms = self.sink.latency.samples.tolist()
        log.info("live trades stopped: %s", self.stats.line())
        if error is not None:
            raise error
        if len(self.sink):
            raise StoreError(f"{len(self.sink)} trades could not be committed before stopping; "
                             "the next start repairs them from /historicalTrades")
        return self.stats

    def _connected_callback(self, symbols: list[str]) -> Callable[[bool], None]:
        def connected(continuous: bool) -> None:
            if not continuous:
                self.tracker.connected(symbols)
        return connected

    async def _stop_requested(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(STOP_POLL_S)

    async def _flush_loop(self) -> None:
        failures = 0
        while True:
            wait = self.sink.wait_s(time.monotonic(), self.live.flush_interval_s,
                                    self.live.batch_rows)
            if wait is None and self._draining:
                return
            if wait is None or (wait > 0 and not self._draining):
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), REPAIR_IDLE_S if wait is None
                                           else wait)
                except TimeoutError:
                    pass
                continue
            batch = self.sink.cut()
            try:
                await asyncio.to_thread(self.sink.write, batch)
                failures = 0
            except StoreError as exc:
                self.sink.restore(batch)
                failures += 1
                if not exc.retryable or (self._draining and failures >= 3):
                    raise
                log.warning("could not commit %d trades (%s); retrying in 1s", len(batch.rows),
                            exc)
                await asyncio.sleep(1.0)

    async def _repair_loop(self) -> None:
        extract = self.settings.extract
        while not self._stop.is_set():
            now = time.monotonic()
            work = [(s, ranges) for s, track in self.tracker.symbols.items()
                    if (ranges := track.due(now, self.live.gap_grace_s))]
            if not work:
                await asyncio.sleep(REPAIR_IDLE_S)
                continue
            for symbol, ranges in work:
                if self._stop.is_set():
                    return
                try:
                    result = await asyncio.to_thread(
                        repair, self.client, symbol, ranges,
                        limit=extract.historical_trades_limit,
                        max_pages=extract.backfill_max_pages)
                except StopRequested:
                    return
                except BinanceApiError as exc:
                    self.tracker[symbol].retry_at = time.monotonic() + self.live.gap_retry_s
                    log.warning("repairing %s trade ids %s failed: %s; retrying in %.0fs",
                                symbol, ranges, exc, self.live.gap_retry_s)
                    continue
                self._apply(result)

    def _apply(self, result: Repair) -> None:
        now = time.monotonic()
        track = self.tracker[result.symbol]
        fresh = 0
        for row in result.rows:
            if track.accept(row[_ID], now):  # type: ignore[arg-type]
                self.sink.add(row, None, now)
                fresh += 1
        self.stats.repaired += fresh
        if result.absent:
            track.mark_absent(result.absent, now)
            log.warning("%s: the exchange has no trades with ids %s; recorded as known gaps",
                        result.symbol, format_ranges(result.absent))
        given_up = track.repaired(caught_up=result.caught_up, not_yet=result.not_yet,
                                  short=result.short, now=now, retry_s=self.live.gap_retry_s,
                                  max_attempts=self.live.gap_max_attempts)
        if given_up:
            log.warning("%s: /historicalTrades still lacks trade ids %s after %d attempts; "
                        "recorded as known gaps", result.symbol, format_ranges(given_up),
                        self.live.gap_max_attempts)
        self.stats.known_gaps += len(result.absent) + len(given_up)
        if fresh:
            log.info("%s: repaired %d trades from /historicalTrades", result.symbol, fresh)
        self.sink.touch(now)

    async def _stats_loop(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), STATS_INTERVAL_S)
            except TimeoutError:
                pass
            samples = self.sink.latency.take_recent()
            self._skips_logged = 0
            self.stats.written, self.stats.commits = self.sink.written, self.sink.commits
            latency = ""
            if samples:
                ordered = sorted(samples)
                latency = (f" event->commit p50={ordered[len(ordered) // 2]}ms "
                           f"p99={ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)]}ms")
            log.info("live trades: %s connections=%d drops=%d%s", self.stats.line(),
                     sum(f.connects for f in self.feeds), sum(f.drops for f in self.feeds),
                     latency)
