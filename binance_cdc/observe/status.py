"""`status`: collect every section of the report, each on its own, none able to sink the rest.

Sections are collected in parallel (one slow or dead service does not delay
the others beyond its own timeout). A section that fails carries the reason in
its ``error`` instead of raising: the point of this command is to be run when
something is wrong.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from binance_cdc.datasets import DATASETS
from binance_cdc.errors import BinanceCdcError, StoreError
from binance_cdc.kafka.client import (
    reader,
    record_times_ms,
    retention_ms,
    topic_partitions,
    watermarks,
)
from binance_cdc.observe.checkpoint import (
    processed_offsets_of_queries,
    records_behind,
    records_lost,
)
from binance_cdc.observe.counts import COUNT_TIMEOUT_S, count_rows
from binance_cdc.observe.report import (
    CassandraSection,
    CdcSection,
    ExtractionRun,
    ExtractionSection,
    LiveProgress,
    MicroBatch,
    ServiceRow,
    ServicesSection,
    StatusReport,
    StreamSection,
    TopicRow,
    TopicsSection,
)
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.stream.job_state import read_state

log = logging.getLogger(__name__)

S = TypeVar("S")

CONNECT_TIMEOUT_S = 5.0


def collect_status(settings: Settings) -> StatusReport:
    """Every section of the report; never raises for a service that is down."""
    jobs: dict[str, tuple[Callable[[Settings], object], type]] = {
        "services": (services_section, ServicesSection),
        "cdc": (cdc_section, CdcSection),
        "topics": (topics_section, TopicsSection),
        "stream": (stream_section, StreamSection),
        "cassandra": (cassandra_section, CassandraSection),
        "extraction": (extraction_section, ExtractionSection),
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(_guarded, name, collect, empty, settings)
                   for name, (collect, empty) in jobs.items()}
        sections: dict[str, Any] = {name: future.result() for name, future in futures.items()}
    return StatusReport(collected_at=dt.datetime.now(dt.timezone.utc), **sections)


def _guarded(name: str, collect: Callable[[Settings], S], empty: type[S], settings: Settings) -> S:
    try:
        return collect(settings)
    # Anything at all: a status screen that crashes on the fault it should show is useless.
    except Exception as exc:
        log.debug("status section %s failed", name, exc_info=True)
        reason = str(exc) if isinstance(exc, BinanceCdcError) else f"{type(exc).__name__}: {exc}"
        return empty(error=reason.strip() or type(exc).__name__)  # type: ignore[call-arg]


def services_section(settings: Settings) -> ServicesSection:
    from binance_cdc.stack.launcher import Stack

    return ServicesSection([ServiceRow(s.name, s.state, s.pid, s.ports, s.detail, s.rss_bytes)
                            for s in Stack(settings).status()])


def cdc_section(settings: Settings) -> CdcSection:
    from binance_cdc.connect.client import ConnectClient
    from binance_cdc.connect.connector import failure, likely_cause, load_definition
    from binance_cdc.postgres.replication import slot_state

    definition = load_definition(settings)
    section = CdcSection(connector=definition.name, slot_name=definition.slot_name)
    try:
        slot = slot_state(settings.postgres, definition.slot_name)
        section.slot = None if slot is None else dataclasses.asdict(slot)
        section.slot_lag_warning = bool(slot and slot.lag_bytes is not None
                                        and slot.lag_bytes > settings.connect.slot_lag_warn_bytes)
        risk = slot.risk() if slot is not None else None
        if risk is not None:
            section.slot_lost = risk[0] == "lost"
            section.slot_risk = risk[1]
    except BinanceCdcError as exc:
        section.slot_error = str(exc)
    client = ConnectClient(settings.connect.url, timeout_s=CONNECT_TIMEOUT_S)
    try:
        status = client.status(definition.name)
    except BinanceCdcError as exc:
        section.error = str(exc)
        return section
    finally:
        client.close()
    if status is not None:
        section.state = status["connector"]["state"]
        section.worker_id = status["connector"].get("worker_id")
        section.tasks = [{"id": t["id"], "state": t["state"], "worker_id": t.get("worker_id")}
                         for t in status.get("tasks", [])]
        trace = failure(status)
        section.likely_cause = likely_cause(trace) if trace else None
    return section


def topics_section(settings: Settings) -> TopicsSection:
    pattern = f"{settings.kafka.topic_prefix}.{settings.postgres.schema_name}.*"
    consumer = reader(settings.kafka)
    try:
        marks = watermarks(consumer, settings.kafka,
                           topic_partitions(consumer, settings.kafka, pattern))
    finally:
        consumer.close()
    section = TopicsSection()
    stream: dict[str, dict[int, int]] = {}
    try:
        checkpoint = processed_offsets_of_queries(settings.spark.checkpoint_dir)
    except (OSError, ValueError) as exc:
        checkpoint = None
        section.checkpoint_note = f"cannot read {settings.spark.checkpoint_dir}: {exc}"
    if checkpoint is not None:
        stream = checkpoint.offsets
        section.checkpoint_batch = checkpoint.batch_id
        section.checkpoint_committed = checkpoint.committed
        section.checkpoint_path = checkpoint.path
    elif section.checkpoint_note is None:
        section.checkpoint_note = (f"no stream checkpoint in {settings.spark.checkpoint_dir} "
                                   "(the stream has not run yet)")
    for topic in sorted(marks):
        end = {p: high for p, (_, high) in marks[topic].items()}
        done = stream.get(topic)
        lag = None if done is None else records_behind(marks[topic], done)
        section.topics.append(TopicRow(topic, end, done, lag, records_lost(marks[topic], done)))
    _retention(settings, section, marks)
    return section


def _retention(settings: Settings, section: TopicsSection,
               marks: dict[str, dict[int, tuple[int, int]]]) -> None:
    """How close each topic's oldest unapplied record is to being deleted by retention."""
    import time

    waiting = {(row.topic, p): offset for row in section.topics
               for p, offset in (row.stream_offsets or {}).items()
               if marks[row.topic][p][0] <= offset < marks[row.topic][p][1]}
    retention = retention_ms(settings.kafka, [row.topic for row in section.topics])
    consumer = reader(settings.kafka)
    try:
        times = record_times_ms(consumer, waiting)
    finally:
        consumer.close()
    now_ms = int(time.time() * 1000)
    for row in section.topics:
        row.retention_ms = retention.get(row.topic)
        ages = [now_ms - t for (topic, _), t in times.items() if topic == row.topic]
        row.oldest_unapplied_ms = max(ages) if ages else None


def stream_section(settings: Settings) -> StreamSection:
    job = read_state(settings.spark.checkpoint_dir)
    described = job.describe() if job is not None else (
        f"never ran with the checkpoints in {settings.spark.checkpoint_dir}")
    try:
        section = _stream_progress(settings)
    except BinanceCdcError as exc:
        return StreamSection(job=described, error=str(exc))
    section.job = described
    return section


def _stream_progress(settings: Settings) -> StreamSection:
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace,
                           timeout_s=CONNECT_TIMEOUT_S) as session:
        rows = session.execute(
            "SELECT query_name, batch_id, records, rows_written, rows_deleted, dead_letters, "
            "duration_ms, max_source_ts, finished_at FROM stream_progress",
            timeout=COUNT_TIMEOUT_S)
        section = StreamSection([MicroBatch(*row) for row in rows])
        tables = session.cluster.metadata.keyspaces[settings.cassandra.keyspace].tables
        if "stream_watermarks" in tables:  # created by a stream job of this version
            section.watermarks = {
                row.query_name: row.watermark.replace(tzinfo=dt.timezone.utc)
                for row in session.execute("SELECT query_name, watermark FROM stream_watermarks",
                                           timeout=COUNT_TIMEOUT_S) if row.watermark}
        return section


class _ServerWarnings(logging.Filter):
    """Counting without a partition key is the point here; the server's warning about it is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Server warning:"):
            log.debug("%s", record.getMessage())
            return False
        return True


def cassandra_section(settings: Settings) -> CassandraSection:
    section = CassandraSection()
    driver_log = logging.getLogger("cassandra.protocol")
    quiet = _ServerWarnings()
    driver_log.addFilter(quiet)
    try:
        _count_rows(settings, section)
    finally:
        driver_log.removeFilter(quiet)
    return section


def _count_rows(settings: Settings, section: CassandraSection) -> None:
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace,
                           timeout_s=CONNECT_TIMEOUT_S) as session:
        count_rows(settings, session, section)


def extraction_section(settings: Settings) -> ExtractionSection:
    import psycopg

    pg = settings.postgres
    try:
        connection = connect(pg)
    except StoreError as exc:
        raise StoreError(f"cannot read {pg.schema_name}.extraction_runs: {exc}",
                         retryable=exc.retryable) from exc
    try:
        with connection as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (dataset) dataset, started_at, finished_at, status, "
                "rows_inserted, rows_updated, rows_deleted, requests, weight_used, error "
                f"FROM {pg.schema_name}.extraction_runs "
                "WHERE dataset = ANY(%s) ORDER BY dataset, started_at DESC",
                (list(DATASETS),)).fetchall()
            live_table = f"{pg.schema_name}.live_trade_progress"
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (live_table,)).fetchone()
            live = conn.execute(  # none before the live writer first ran
                "SELECT symbol, last_complete_id, known_gaps, updated_at "
                f"FROM {live_table} ORDER BY symbol"
            ).fetchall() if exists and exists[0] else []
    except psycopg.Error as exc:
        raise StoreError(f"cannot read {pg.schema_name}.extraction_runs at {pg.host}:{pg.port}: "
                         f"{exc}".strip(), retryable=True) from exc
    return ExtractionSection([ExtractionRun(*row) for row in rows],
                             [LiveProgress(*row) for row in live])
