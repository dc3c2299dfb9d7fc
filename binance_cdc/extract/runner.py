"""Run the datasets: once (``--once``) or forever on a schedule, one interval per dataset.

Datasets run one after another in a single thread, so a slow cycle delays the
next instead of overlapping it. SIGINT/SIGTERM ask the loop to stop after the
current dataset (a wait for the rate limit is cut short and that dataset rolls
back). Each run gets one INFO summary line and one row in extraction_runs. A
418 ban stops everything: calling a banned IP only lengthens the ban.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from types import FrameType

import schedule

from binance_cdc.binance.client import BinanceClient
from binance_cdc.datasets import DATASETS
from binance_cdc.errors import BinanceCdcError, ConfigError, IpBannedError
from binance_cdc.extract import klines, metrics, orderbook, tickers, trades
from binance_cdc.extract.base import Context, Outcome
from binance_cdc.extract.runlog import RunResult, record
from binance_cdc.extract.symbols import SymbolRegistry
from binance_cdc.observe.metrics import serve
from binance_cdc.postgres.store import PostgresStore
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

EXTRACTORS: dict[str, Callable[[Context], Outcome]] = {
    "recent_trades": trades.extract,
    "order_book": orderbook.extract,
    "klines": klines.extract,
    "daily_ticker": tickers.extract_daily_ticker,
    "latest_prices": tickers.extract_latest_prices,
}
INTERVAL_SETTING = {
    "recent_trades": "trades_interval_s", "order_book": "depth_interval_s",
    "klines": "klines_interval_s", "daily_ticker": "tickers_interval_s",
    "latest_prices": "prices_interval_s",
}


class StopRequested(Exception):
    """Raised inside a wait when the extractor was asked to stop (not an error)."""


def check_datasets(names: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown or not names:
        raise ConfigError(f"unknown dataset(s) {unknown or names}; EXTRACT_DATASETS / --datasets "
                          f"takes a comma-separated subset of {', '.join(DATASETS)}")
    return list(names)


class Extractor:
    """Runs datasets against one client and one store; build, use, :meth:`close`."""

    def __init__(self, settings: Settings, *, client: BinanceClient | None = None,
                 store: PostgresStore | None = None, stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.client = client or BinanceClient(settings.binance, sleep=self._sleep)
        self.store = store or PostgresStore(settings.postgres)
        self.registry = SymbolRegistry(self.client, settings.binance.symbols,
                                       refresh_s=settings.extract.symbols_refresh_s)
        self.datasets = check_datasets(settings.extract.datasets)

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise StopRequested()

    def close(self) -> None:
        self.client.close()
        self.store.close()

    def run_dataset(self, name: str) -> RunResult:
        """Extract one dataset; failures are logged and recorded, a 418 ban is re-raised."""
        started = datetime.now(timezone.utc)
        before = self.client.stats.snapshot()
        ctx = Context(self.client, self.store, self.settings.extract, self.registry, started)
        outcome, error, banned = Outcome(), None, None
        try:
            outcome = EXTRACTORS[name](ctx)
        except IpBannedError as exc:
            error, banned = str(exc), exc
        except StopRequested:
            error = "stopped before the dataset completed; nothing written"
        except BinanceCdcError as exc:
            error = str(exc)
        spent = self.client.stats.since(before)
        details = dict(outcome.details)
        skipped = {**self.registry.skipped, **outcome.skipped}
        if skipped:
            details["skipped"] = skipped
        status = "failed" if error else ("partial" if outcome.partial else "ok")
        # A failed run lists the symbols it attempted; a successful one those it loaded.
        symbols = (self.registry.current() or self.registry.configured) if error else outcome.loaded
        result = RunResult(name, started, datetime.now(timezone.utc), status, symbols,
                           outcome.counts, spent.requests, spent.weight, spent.waited_s, error,
                           details)
        record(self.store, result)
        metrics.record_run(name, status, outcome.counts.inserted, outcome.counts.updated,
                           outcome.counts.deleted, result.finished_at.timestamp())
        (log.warning if error else log.info)("%s", result.summary())
        if banned is not None:
            raise banned
        return result

    def run_cycle(self, names: Sequence[str] | None = None) -> list[RunResult]:
        """Each dataset once, in order, stopping early if asked to."""
        results = []
        for name in names or self.datasets:
            if self.stop.is_set():
                break
            results.append(self.run_dataset(name))
        return results

    def run_forever(self) -> None:
        """Every dataset on its own interval until :attr:`stop` is set."""
        scheduler = schedule.Scheduler()
        intervals = {name: getattr(self.settings.extract, INTERVAL_SETTING[name])
                     for name in self.datasets}
        for name, interval in intervals.items():
            scheduler.every(interval).seconds.do(self._scheduled, name)
        metrics.start_datasets(intervals)
        serve(self.settings.metrics.extractor_port, self.settings.metrics.host,
              what="extractor metrics")
        log.info("extracting %s for %s from %s", ", ".join(self.datasets),
                 ", ".join(self.settings.binance.symbols), self.settings.binance.base_url)
        scheduler.run_all()  # a first cycle right away, then each on its interval
        while not self.stop.is_set():
            scheduler.run_pending()
            idle = scheduler.idle_seconds
            self.stop.wait(min(max(idle if idle is not None else 1.0, 0.05), 1.0))
        log.info("extractor stopped")

    def _scheduled(self, name: str) -> None:
        if not self.stop.is_set():
            self.run_dataset(name)


@contextmanager
def stop_on_signals(stop: threading.Event,
                    then: str = "stopping after the current dataset") -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (a second SIGINT interrupts at once); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("%s received: %s", signal.Signals(signum).name, then)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(settings: Settings, *, once: bool) -> list[RunResult]:
    """The extractor's entry point: one cycle (returned) or a schedule until a signal."""
    stop = threading.Event()
    extractor = Extractor(settings, stop=stop)
    started = time.monotonic()
    try:
        with stop_on_signals(stop):
            if once:
                results = extractor.run_cycle()
                log.info("cycle done in %.2fs: %d dataset(s), %d failed",
                         time.monotonic() - started, len(results),
                         sum(r.status == "failed" for r in results))
                return results
            extractor.run_forever()
            return []
    finally:
        extractor.close()

