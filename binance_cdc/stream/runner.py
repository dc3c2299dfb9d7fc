"""Run the streaming job until stopped, restarting a dataset's query after failures.

Runs inside the driver that ``spark-submit spark_streaming.py`` started. A
query that fails (Cassandra or Postgres down, say) is started again from its
checkpoint after SPARK_RESTART_DELAY_S, which replays its last batch
harmlessly; after SPARK_MAX_RESTARTS failures in a row without progress the
job gives up with the last error.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from binance_cdc.datasets import DATASETS, Dataset
from binance_cdc.errors import StoreError, StreamError
from binance_cdc.observe.metrics.stream import STREAM_METRICS
from binance_cdc.postgres.replication import WalPosition
from binance_cdc.settings import Settings
from binance_cdc.sink.schema import apply_schema
from binance_cdc.sink.trade_metrics import TABLE as TRADE_METRICS
from binance_cdc.sink.trade_metrics import TradeMetricsWriter
from binance_cdc.sink.writer import CassandraWriter
from binance_cdc.stream.batch import BatchApplier, BatchReport
from binance_cdc.stream.checkpoint_lock import exclusive_checkpoints
from binance_cdc.stream.errors_text import summary
from binance_cdc.stream.job import (
    active_session,
    configure,
    require_jars,
    start_query,
    stop_all,
)
from binance_cdc.stream.job_state import StateFile
from binance_cdc.stream.sessions import ConnectorSessions
from binance_cdc.stream.source_guard import SourceGuard
from binance_cdc.stream.trade_minutes import start_trade_metrics

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0
GUARD_INTERVAL_S = 10.0
PROGRESS_LOG_EVERY_S = 30.0


@dataclass
class QueryState:
    name: str
    """The table the query writes (its checkpoint folder)."""
    starter: Callable[[], Any]
    """Starts the query (from its checkpoint) and returns it."""
    query: Any = None
    failures: int = 0
    restart_at: float | None = None
    batches_seen: int = field(default=0)


def run_stream(settings: Settings, *, submit_command: str, stop: threading.Event | None = None,
               install_signal_handlers: bool = True,
               on_report: Callable[[BatchReport], None] | None = None) -> int:
    """Start one query per dataset and keep them running; return 0 after a requested stop."""
    stop = stop or threading.Event()
    if install_signal_handlers:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    require_jars(None, submit_command)
    with exclusive_checkpoints(settings.spark.checkpoint_dir):
        state_file = StateFile(settings.spark.checkpoint_dir)
        state_file.running()
        try:
            code = _run(settings, submit_command, stop, on_report, state_file)
        except BaseException as exc:
            state_file.finished(summary(exc) or type(exc).__name__)
            raise
        state_file.finished(None)
        return code


def _run(settings: Settings, submit_command: str, stop: threading.Event,
         on_report: Callable[[BatchReport], None] | None, state_file: StateFile) -> int:
    session = active_session()
    try:
        require_jars(session, submit_command)
        configure(session, settings)
        apply_schema(settings.cassandra)
        STREAM_METRICS.start(settings.metrics.stream_port, settings.metrics.host)
        writer = CassandraWriter(settings.cassandra)
        writer.setup()
        wal = WalPosition(settings.postgres)
        guard = SourceGuard(settings.spark.checkpoint_dir, settings.postgres,
                            settings.cassandra.keyspace)
        _check_source(guard)
        try:
            return _supervise(session, settings, writer, wal, stop, on_report, state_file,
                              guard)
        finally:
            stop_all(session)
            writer.close()
            wal.close()
    finally:
        session.stop()


def _supervise(session: Any, settings: Settings, writer: CassandraWriter, wal: WalPosition,
               stop: threading.Event, on_report: Callable[[BatchReport], None] | None,
               state_file: StateFile, guard: SourceGuard) -> int:
    reports: dict[str, int] = {}
    sessions = ConnectorSessions()

    def reported(report: BatchReport) -> None:
        reports[report.dataset] = reports.get(report.dataset, 0) + 1
        STREAM_METRICS.record_batch(
            {tuple(k.rsplit(".", 1)): v for k, v in report.written.items() if k != "dead_letters"},
            dead_letters=report.written["dead_letters"], duration_s=report.duration_ms / 1000,
            commit_to_written_lag_s=None if report.lag_ms is None else report.lag_ms / 1000,
            records=report.counts["records"])
        if on_report is not None:
            on_report(report)

    def replica_query(dataset: Dataset) -> Callable[[], Any]:
        def start() -> Any:
            applier = BatchApplier(settings, dataset, writer, wal.current, sessions,
                                   on_report=reported)
            return start_query(session, settings, dataset, applier)
        return start

    def metrics_batch(_: int) -> None:
        reports[TRADE_METRICS] = reports.get(TRADE_METRICS, 0) + 1

    states = {name: QueryState(name, replica_query(dataset)) for name, dataset in DATASETS.items()}
    if settings.spark.trade_metrics:
        metrics = TradeMetricsWriter(settings.cassandra, writer.session)
        states[TRADE_METRICS] = QueryState(TRADE_METRICS, lambda: start_trade_metrics(
            session, settings, metrics, lambda: states[TRADE_METRICS].query,
            on_batch=metrics_batch))

    def start(state: QueryState) -> None:
        state.query = state.starter()
        state.restart_at = None

    for state in states.values():
        start(state)
    log.info("streaming %s.%s.<table> -> Cassandra keyspace %s, one query per table "
             "(checkpoints under %s)", settings.kafka.topic_prefix, settings.postgres.schema_name,
             settings.cassandra.keyspace, settings.spark.checkpoint_dir)
    last_log = last_guard = time.monotonic()
    while not stop.wait(WATCH_INTERVAL_S):
        now = time.monotonic()
        if now - last_guard > GUARD_INTERVAL_S:
            last_guard = now
            _check_source(guard)
        for name, state in states.items():
            if state.restart_at is not None:
                if now >= state.restart_at:
                    start(state)
                continue
            if state.query.isActive:
                if state.failures and reports.get(name, 0) > state.batches_seen:
                    state_file.query_recovered(name)  # a batch went through again
                continue
            error = state.query.exception()
            progressed = reports.get(name, 0) > state.batches_seen
            state.batches_seen = reports.get(name, 0)
            state.failures = 1 if progressed else state.failures + 1
            if state.failures > settings.spark.max_restarts:
                raise StreamError(f"the {name} query failed {state.failures} times in a row; "
                                  f"last error: {summary(error)}", retryable=True)
            log.error("query %s.%s stopped: %s; restarting from its checkpoint in %.0fs (failure "
                      "%d of at most %d)", settings.spark.query_name, name, summary(error),
                      settings.spark.restart_delay_s, state.failures, settings.spark.max_restarts)
            state.restart_at = now + settings.spark.restart_delay_s
            state_file.query_failed(name, state.failures, settings.spark.max_restarts,
                                    summary(error))
        if now - last_log > PROGRESS_LOG_EVERY_S:
            last_log = now
            _log_backlog(states)
    return 0


def _check_source(guard: SourceGuard) -> None:
    """Stop the job if the source went back (rebuilt, restored); Postgres being down is the
    batches' business (they fail and are retried), not a reason to stop."""
    try:
        guard.check()
    except StoreError as exc:
        log.warning("could not check the source's identity: %s", exc)


def _log_backlog(states: dict[str, QueryState]) -> None:
    for name, state in states.items():
        progress = state.query.lastProgress if state.query is not None else None
        for source in (progress or {}).get("sources", []):
            metrics = source.get("metrics", {})
            if progress.get("numInputRows"):
                log.info("%s: input %.0f rows/s, processed %.0f rows/s, offsets behind latest: "
                         "max %s", name, progress.get("inputRowsPerSecond") or 0,
                         progress.get("processedRowsPerSecond") or 0,
                         metrics.get("maxOffsetsBehindLatest", "?"))
