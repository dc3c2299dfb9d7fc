"""Run the streaming job until stopped, restarting its query after failures."""

from __future__ import annotations

import logging
import signal
import threading
import time

from binance_cdc.errors import StreamError
from binance_cdc.settings import Settings
from binance_cdc.sink.schema import apply_schema
from binance_cdc.stream.job import build_session, start_query

log = logging.getLogger(__name__)

PROGRESS_LOG_EVERY_S = 30.0


def run_stream(settings: Settings, *, stop: threading.Event | None = None,
               install_signal_handlers: bool = True) -> int:
    """Start the query and keep it running; return 0 after a requested stop."""
    stop = stop or threading.Event()
    if install_signal_handlers:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    apply_schema(settings.cassandra)
    session = build_session(settings)
    failures = 0
    try:
        while not stop.is_set():
            query = start_query(session, settings)
            log.info("streaming %s.%s.* -> Cassandra keyspace %s (checkpoint %s)",
                     settings.kafka.topic_prefix, settings.postgres.schema_name,
                     settings.cassandra.keyspace, settings.spark.checkpoint_dir)
            progressed = _watch(query, stop)
            if stop.is_set():
                query.stop()
                return 0
            error = query.exception()
            failures = 1 if progressed else failures + 1
            if failures > settings.spark.max_restarts:
                raise StreamError(f"the streaming query failed {failures} times in a row; last "
                                  f"error: {error}", retryable=True)
            log.error("streaming query stopped: %s; restarting from the checkpoint in %.0fs "
                      "(failure %d of at most %d)", _first_line(error),
                      settings.spark.restart_delay_s, failures, settings.spark.max_restarts)
            stop.wait(settings.spark.restart_delay_s)
        return 0
    finally:
        for active in session.streams.active:
            active.stop()
        session.stop()


def _watch(query, stop: threading.Event) -> bool:  # noqa: ANN001
    """Wait while the query runs; log how far behind Kafka it is. True if it made progress."""
    last_log = time.monotonic()
    progressed = False
    from pyspark.errors import StreamingQueryException

    while query.isActive and not stop.is_set():
        try:
            query.awaitTermination(1)
        except StreamingQueryException:
            return progressed  # the caller reads query.exception() and restarts
        progress = query.lastProgress
        if progress and progress.get("numInputRows", 0) > 0:
            progressed = True
        if progress and time.monotonic() - last_log > PROGRESS_LOG_EVERY_S:
            last_log = time.monotonic()
            for source in progress.get("sources", []):
                metrics = source.get("metrics", {})
                log.info("input %.0f rows/s, processed %.0f rows/s, offsets behind latest: "
                         "max %s, avg %s", progress.get("inputRowsPerSecond") or 0,
                         progress.get("processedRowsPerSecond") or 0,
                         metrics.get("maxOffsetsBehindLatest", "?"),
                         metrics.get("avgOffsetsBehindLatest", "?"))
    return progressed


def _first_line(error: object) -> str:
    text = str(error or "stopped")
    return text.strip().splitlines()[0][:300] if text.strip() else "stopped"
