"""One micro-batch of one dataset's change topic, applied to Cassandra.

Runs on the Spark driver as the query's ``foreachBatch`` function:

1. the records are decoded on the executors (binance_cdc/stream/decode.py),
   checked against the source's current WAL position;
2. the upserts are written by the Spark Cassandra Connector's DataFrame writer,
   the replica table and each query table in parallel jobs, each row with its
   change's LSN as write timestamp (``writetime`` option); counts of every
   action are observed on the same pass (no extra job);
3. only if the batch holds deletes, query rows to move or dead letters, those
   rows are collected to the driver and written by :class:`CassandraWriter`.

A connector write that fails while Cassandra answers means some row Cassandra
rejects: the batch is then applied row by row and that row becomes a dead
letter. A failure with Cassandra unreachable fails the batch; the runner
restarts the query, which replays it from the checkpoint (idempotent).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from binance_cdc.datasets import REPLICA_META_COLUMNS, Dataset
from binance_cdc.errors import SinkError, StreamError
from binance_cdc.settings import Settings
from binance_cdc.sink.query_tables import QueryTable, query_tables_for
from binance_cdc.sink.writer import CassandraWriter
from binance_cdc.stream import decode as d
from binance_cdc.stream.driver_path import dead_letter, deletes_of, upserts_of
from binance_cdc.stream.errors_text import summary
from binance_cdc.stream.sessions import ConnectorSessions

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

log = logging.getLogger(__name__)

CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"
# Errors that say Cassandra (or the job) was unavailable, not that it rejected a row:
# the batch is replayed from the checkpoint instead of being applied row by row.
OUTAGE_MARKERS = ("cancelled", "SparkContext was shut down", "AllNodesFailedException",
                  "NoNodeAvailableException", "Failed to open native connection",
                  "TimeoutException", "UnavailableException", "OverloadedException",
                  "ConnectionInitException", "BusyConnectionException", "ClosedConnection",
                  "NodeUnavailableException", "Control channel not available")
WRITETIME = "writetime_us"


@dataclass
class BatchReport:
    """What one micro-batch did."""

    dataset: str
    batch_id: int
    counts: Counter = field(default_factory=Counter)
    """records, upsert, delete, dead, skip, moved, unknown_columns."""
    written: Counter = field(default_factory=Counter)
    """<table>.upsert / <table>.delete / dead_letters."""
    max_source_ts_ms: int = 0
    duration_ms: int = 0
    row_by_row: bool = False
    phases_ms: dict[str, int] = field(default_factory=dict)
    """Where the batch's time went: upserts, driver (deletes, moves, dead letters)."""

    @property
    def lag_ms(self) -> int | None:
        """Commit in Postgres -> written here, for the newest change of the batch."""
        return int(time.time() * 1000) - self.max_source_ts_ms if self.max_source_ts_ms else None


class BatchApplier:
    """The ``foreachBatch`` function of one dataset's query."""

    def __init__(self, settings: Settings, dataset: Dataset, writer: CassandraWriter,
                 lsn_ceiling: Callable[[], int], sessions: ConnectorSessions,
                 on_report: Callable[[BatchReport], None] | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self._generation = sessions.generation  # of the batch being applied
        self._session_options = sessions.options()
        self.dataset = dataset
        self.writer = writer
        self.lsn_ceiling = lsn_ceiling
        self.on_report = on_report
        self.queries: tuple[QueryTable, ...] = query_tables_for(dataset.name)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        # Jobs of this thread (and the threads it starts) share the cores fairly with
        # the other tables' queries (spark.scheduler.mode FAIR in the properties file).
        batch.sparkSession.sparkContext.setLocalProperty("spark.scheduler.pool", self.dataset.name)
        report = BatchReport(self.dataset.name, batch_id)
        self._generation = self.sessions.generation
        self._session_options = self.sessions.options()
        decoded = d.decode(batch, self.dataset, lsn_ceiling=d.rounded_ceiling(self.lsn_ceiling()),
                           max_text_bytes=self.settings.spark.dead_letter_max_bytes)
        self._apply(decoded, report)
        report.duration_ms = int((time.monotonic() - started) * 1000)
        self._record(report)

    def _apply(self, decoded: DataFrame, report: BatchReport) -> None:
        from py4j.protocol import Py4JError

        batch_id = report.batch_id
        materialized = None
        try:
            started = time.monotonic()
            materialized = self._materialize(decoded, report)
            report.phases_ms["decode"] = int((time.monotonic() - started) * 1000)
            started = time.monotonic()
            if report.counts["upsert"]:
                self._write_upserts(materialized, report)
            report.phases_ms["upserts"] = int((time.monotonic() - started) * 1000)
            if report.counts["delete"] + report.counts["dead"] + report.counts["moved"]:
                started = time.monotonic()
                self._apply_on_driver(materialized, report)
                report.phases_ms["driver"] = int((time.monotonic() - started) * 1000)
        except (Py4JError, SinkError) as exc:
            if any(marker in str(exc) for marker in OUTAGE_MARKERS) or not self.writer.reachable():
                self.sessions.renew(self._generation, summary(exc))
                raise StreamError(f"{self.dataset.name} batch {batch_id}: Cassandra (or the job) "
                                  f"is not available ({summary(exc)}); the query restarts from "
                                  "its checkpoint", retryable=True) from exc
            log.error("%s batch %d: a Cassandra write failed although Cassandra answers (%s); "
                      "applying the batch row by row", self.dataset.name, batch_id,
                      summary(exc))
            report.counts.clear()
            report.written.clear()
            report.row_by_row = True
            self._apply_row_by_row(decoded, report)
        finally:
            if materialized is not None:
                _release(materialized)

    # -- the connector's path ------------------------------------------------
    def _materialize(self, decoded: DataFrame, report: BatchReport) -> DataFrame:
        """Decode the batch once, into executor memory, and count its actions.

        Every later job (the replica and each query table, the driver path) reads
        these blocks instead of parsing and checking the records again. A local
        checkpoint is kept by the block manager, outside Spark's session-wide cache
        (whose lock the five queries' batches would contend for); :func:`_release`
        drops it when the batch is done.
        """
        materialized = decoded.localCheckpoint(eager=True)
        observed = materialized.agg(*self._metrics()).collect()[0].asDict()
        report.counts.update({k: int(v or 0) for k, v in observed.items() if k != "max_ts_ms"})
        report.max_source_ts_ms = int(observed.get("max_ts_ms") or 0)
        return materialized

    def _write_upserts(self, decoded: DataFrame, report: BatchReport) -> None:
        upserts = decoded.filter(self._is("upsert"))
        jobs = [(self.dataset.name, self._with_meta(upserts, self.dataset.column_names))]
        for query in self.queries:
            columns = [self._expr(query.spark_expression(c, lambda name: name)).alias(c)
                       for c in query.columns]
            jobs.append((query.name, self._with_meta(upserts, columns)))
        _run_parallel([lambda table=table, frame=frame: self._save(frame, table)
                       for table, frame in jobs], self.settings.spark.write_timeout_s)
        for table, _ in jobs:
            report.written[f"{table}.upsert"] += report.counts["upsert"]

    def _metrics(self) -> list[Column]:
        from pyspark.sql import functions as F

        action = F.col(d.ACTION)
        moved = F.lit(False)
        for query in self.queries:
            moved = moved | F.col(d.moved_column(query))
        ones = {name: F.sum(F.when(condition, 1).otherwise(0)).alias(name) for name, condition in {
            "upsert": action == "upsert", "delete": action == "delete",
            "dead": action == "dead", "skip": action == "skip",
            "moved": moved & (action == "upsert"),
            "unknown_columns": F.col(d.UNKNOWN_COLUMNS) & (action == "upsert")}.items()}
        return [F.count(F.lit(1)).alias("records"), *ones.values(),
                F.max(F.when(action.isin("upsert", "delete"), F.col(d.TS_MS))).alias("max_ts_ms")]

    def _with_meta(self, frame: DataFrame, columns: Any) -> DataFrame:
        from pyspark.sql import functions as F

        meta = {"source_lsn": F.col(d.LSN),
                "source_ts": F.expr(f"timestamp_millis({d.TS_MS})"),
                # Evaluated per row on the executor, just before the connector sends it.
                "written_at": F.expr("timestamp_millis(cast(java_method("
                                     "'java.lang.System', 'currentTimeMillis') as bigint))")}
        assert tuple(meta) == tuple(c.name for c in REPLICA_META_COLUMNS)
        return frame.select(*columns, *(value.alias(name) for name, value in meta.items()),
                            F.col(d.LSN).alias(WRITETIME))

    def _save(self, frame: DataFrame, table: str) -> None:
        cass = self.settings.cassandra
        (frame.write.format(CASSANDRA_FORMAT).mode("append")
         .options(**{"keyspace": cass.keyspace, "table": table, "writetime": WRITETIME,
                     "spark.cassandra.output.consistency.level": cass.write_consistency,
                     **self._session_options})
         .save())

    # -- the driver's path -------------------------------------------------
    def _driver_columns(self, *, record: bool = True) -> list[Column]:
        """Columns the driver needs, timestamps as epoch ms (no time zone can creep in).

        Without ``record``, only what deletes and moves need: not the record's text,
        which is most of a row's bytes.
        """
        from pyspark.sql import functions as F

        def plain(name: str, kind: str) -> Column:
            col = F.col(name)
            return (F.expr(f"unix_millis(`{name}`)") if kind == "timestamp" else col).alias(name)

        columns = [F.col(c) for c in (d.ACTION, d.LSN, d.TS_MS)]
        if record:
            columns += [F.col(c) for c in (d.ERROR, "topic", "partition", "offset", d.KEY_TEXT,
                                           d.VALUE_TEXT, d.VALUE_BYTES)]
            columns.append(F.expr("unix_millis(timestamp)").alias("record_ms"))
        for c in self.dataset.columns:
            columns.append(plain(c.name, c.kind))
            if self.queries:  # the before-image is decoded only to derive old query rows
                columns.append(plain(d.before_column(c.name), c.kind))
        columns += [F.col(d.moved_column(q)) for q in self.queries]
        return columns

    def _collect(self, frame: DataFrame, *, record: bool = True) -> list[dict[str, Any]]:
        return [row.asDict() for row in frame.select(*self._driver_columns(record=record)).collect()]

    def _apply_on_driver(self, decoded: DataFrame, report: BatchReport) -> None:
        from pyspark.sql import functions as F

        if report.counts["delete"] + report.counts["moved"]:
            needed = self._is("delete")
            for query in self.queries:
                needed = needed | F.col(d.moved_column(query))
            rows = self._collect(decoded.filter(needed), record=False)
            deletes = [delete for row in rows for delete in deletes_of(self.dataset, row)]
            self.writer.delete(deletes)
            report.written.update(f"{x.table}.delete" for x in deletes)
        if report.counts["dead"]:
            letters = [dead_letter(row) for row in self._collect(decoded.filter(self._is("dead")))]
            self.writer.dead_letters(letters)
            report.written["dead_letters"] += len(letters)
            for letter in letters:
                log.warning("dead letter %s[%d]@%d: %s", letter.topic, letter.partition,
                            letter.offset, letter.error)

    def _apply_row_by_row(self, decoded: DataFrame, report: BatchReport) -> None:
        import datetime as dt

        rows = self._collect(decoded)
        now = dt.datetime.now(dt.timezone.utc)
        for row in rows:
            action = row[d.ACTION]
            report.counts["records"] += 1
            report.counts[action] += 1
            letter = dead_letter(row) if action == "dead" else None
            if letter is None:
                try:
                    for upsert in upserts_of(self.dataset, row):
                        self.writer.upsert_one(upsert, now)
                        report.written[f"{upsert.table}.upsert"] += 1
                    deletes = deletes_of(self.dataset, row)
                    self.writer.delete(deletes)
                    report.written.update(f"{x.table}.delete" for x in deletes)
                except Exception as exc:  # the driver's refusals of this one row
                    if not self.writer.reachable():
                        raise
                    letter = dead_letter(row, f"Cassandra rejected the row: {summary(exc)}")
            if letter is not None:
                log.warning("dead letter %s[%d]@%d: %s", letter.topic, letter.partition,
                            letter.offset, letter.error)
                self.writer.dead_letters([letter])
                report.written["dead_letters"] += 1
            if action in ("upsert", "delete"):
                report.max_source_ts_ms = max(report.max_source_ts_ms, row[d.TS_MS] or 0)

    # -- reporting -----------------------------------------------------------
    def _record(self, report: BatchReport) -> None:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(report.counts.items())
                           if v and k != "records")
        phases = ", ".join(f"{k} {v}" for k, v in report.phases_ms.items())
        log.info("%s batch %d: %d records in %d ms (%s)%s, commit->written lag %s ms; %s",
                 report.dataset, report.batch_id, report.counts["records"], report.duration_ms,
                 phases, " (row by row)" if report.row_by_row else "", report.lag_ms, counts)
        written = report.written
        try:
            self.writer.record_progress(
                f"{self.settings.spark.query_name}.{report.dataset}", report.batch_id,
                report.counts["records"],
                sum(v for k, v in written.items() if k.endswith(".upsert")),
                sum(v for k, v in written.items() if k.endswith(".delete")),
                written["dead_letters"], report.duration_ms, report.max_source_ts_ms)
        except SinkError as exc:
            log.warning("could not record stream progress: %s", exc)
        if self.on_report is not None:
            self.on_report(report)

    @staticmethod
    def _is(action: str) -> Column:
        from pyspark.sql import functions as F

        return F.col(d.ACTION) == action

    @staticmethod
    def _expr(sql: str) -> Column:
        from pyspark.sql import functions as F

        return F.expr(sql)


def _release(materialized: DataFrame) -> None:
    """Drop the blocks of a local checkpoint now rather than at the next JVM GC."""
    materialized._jdf.queryExecution().analyzed().rdd().unpersist(False)  # noqa: SLF001 - py4j only


def _run_parallel(tasks: list[Callable[[], None]], timeout_s: float) -> None:
    """Run Spark actions concurrently (one job each); re-raise the first failure.

    A task still running after ``timeout_s`` raises :class:`SinkError` as an outage:
    the connector's driver-side schema refresh can block forever on a session whose
    control connection died with Cassandra (the Java driver's refresh never completes,
    no error ever surfaces). Its thread is left behind (a daemon, blocked for good); the
    batch fails, the session is renewed and the query replays the batch.
    """
    from pyspark import InheritableThread

    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(task: Callable[[], None]) -> None:
        try:
            task()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            with lock:
                errors.append(exc)

    threads = [InheritableThread(target=run, args=(task,)) for task in tasks]
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if errors:
        raise errors[0]
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        raise SinkError(f"{stuck} connector write(s) still running after {timeout_s:.0f}s "
                        "(TimeoutException: a stuck Cassandra session, typically after an "
                        "outage); renewing the session and replaying the batch", retryable=True)
