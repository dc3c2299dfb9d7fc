"""What the stream writes from Python, on the Spark driver: setup / write / close.

Upserts go through the Spark Cassandra Connector on the executors; the
connector has no delete from DataFrames, so deletes (replica rows and the query
rows a change moved away from) come here, with the change's LSN as their write
timestamp like every upsert. So do dead letters (one statement each, never in
a batch with other rows), the per-query progress row, and the row-by-row
fallback for a micro-batch whose connector write failed although Cassandra is
up (some value Cassandra rejects): each row is tried alone and the one that
fails becomes a dead letter, so one record never stops the stream.

Statements are prepared once with the configured consistency level
(CASSANDRA_WRITE_CONSISTENCY). Transient failures are retried; what still
fails raises :class:`SinkError`, which fails the micro-batch so Spark replays it
from the checkpoint (harmless: every write is idempotent).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from binance_cdc.datasets import DATASETS, REPLICA_META_COLUMNS
from binance_cdc.errors import SinkError
from binance_cdc.settings import CassandraSettings
from binance_cdc.sink.query_tables import QUERY_TABLES

log = logging.getLogger(__name__)

META = tuple(c.name for c in REPLICA_META_COLUMNS)
CONCURRENCY = 32
ATTEMPTS = 5
DELETES_PER_BATCH = 50
"""Deletes of one partition sent as one UNLOGGED batch (one round trip, one mutation)."""


@dataclass(frozen=True)
class Delete:
    table: str
    key: dict[str, Any]
    timestamp: int
    """The change's LSN, the write timestamp every write of the row carries."""


@dataclass(frozen=True)
class Upsert:
    table: str
    values: dict[str, Any]
    """Every column of the table (not the meta columns)."""
    timestamp: int
    source_ts_ms: int


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    record_ms: int
    """The Kafka record's timestamp: it picks the day partition, so a replay rewrites the row."""
    key: str | None
    value: str | None
    """The record's value, truncated to SPARK_DEAD_LETTER_MAX_BYTES characters."""
    value_bytes: int
    """The size of the whole value as it was on Kafka."""
    error: str


def table_layouts() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """table -> (data columns, key columns) for every table the stream writes rows of."""
    layouts = {d.name: (d.column_names, d.primary_key) for d in DATASETS.values()}
    layouts.update({q.name: (q.columns, q.key) for q in QUERY_TABLES})
    return layouts


class CassandraWriter:
    """Deletes, dead letters, progress and fallback rows. Connects in :meth:`setup`."""

    def __init__(self, cass: CassandraSettings) -> None:
        self.cass = cass
        self._cluster: Any = None
        self._session: Any = None
        self._upserts: dict[str, Any] = {}
        self._deletes: dict[str, Any] = {}
        self._partition_keys: dict[str, tuple[str, ...]] = {}
        self._level: Any = None
        self._dead_letter: Any = None
        self._progress: Any = None

    def setup(self) -> None:
        from cassandra import ConsistencyLevel

        from binance_cdc.sink.connection import new_cluster

        self._cluster = new_cluster(self.cass, timeout_s=10)
        try:
            self._session = self._cluster.connect(self.cass.keyspace)
        except Exception as exc:
            self._cluster.shutdown()
            raise SinkError(f"cannot connect to Cassandra keyspace {self.cass.keyspace} at "
                            f"{self.cass.host}:{self.cass.port}: {exc}", retryable=True) from exc
        level = ConsistencyLevel.name_to_value[self.cass.write_consistency]
        self._level = level
        ks = self.cass.keyspace
        tables = self._cluster.metadata.keyspaces[ks].tables
        for table, (columns, key) in table_layouts().items():
            names = (*columns, *META)
            self._upserts[table] = self._prepare(
                f"INSERT INTO {ks}.{table} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))}) USING TIMESTAMP ?", level)
            self._partition_keys[table] = tuple(c.name for c in tables[table].partition_key)
            self._deletes[table] = self._prepare(
                f"DELETE FROM {ks}.{table} USING TIMESTAMP ? WHERE "
                + " AND ".join(f"{k} = ?" for k in key), level)
        self._dead_letter = self._prepare(
            f"INSERT INTO {ks}.dead_letters (topic, day, partition, offset, record_key, "
            "record_value, value_bytes, error, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            level)
        self._progress = self._prepare(
            f"INSERT INTO {ks}.stream_progress (query_name, batch_id, records, rows_written, "
            "rows_deleted, dead_letters, duration_ms, max_source_ts, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", level)

    def _prepare(self, cql: str, level: int) -> Any:
        statement = self._session.prepare(cql)
        statement.consistency_level = level
        return statement

    @property
    def session(self) -> Any:
        if self._session is None:
            raise SinkError("CassandraWriter.setup() was not called")
        return self._session

    def reachable(self) -> bool:
        """True if Cassandra answers a query now (tells a data error from an outage)."""
        try:
            self.session.execute("SELECT release_version FROM system.local", timeout=5)
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False
        return True

    def delete(self, deletes: Sequence[Delete]) -> None:
        """Each row deleted with its change's LSN as timestamp; a partition's deletes batched."""
        from cassandra.query import BatchStatement, BatchType

        layouts = table_layouts()
        by_partition: dict[tuple, list[Delete]] = {}
        for d in deletes:
            partition = tuple(d.key[k] for k in self._partition_keys[d.table])
            by_partition.setdefault((d.table, *partition), []).append(d)
        statements: list[tuple[Any, Any]] = []
        for group in by_partition.values():
            for start in range(0, len(group), DELETES_PER_BATCH):
                batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=self._level)
                for d in group[start:start + DELETES_PER_BATCH]:
                    batch.add(self._deletes[d.table],
                              (d.timestamp, *(d.key[k] for k in layouts[d.table][1])))
                statements.append((batch, None))
        self._execute(statements)

    def upsert_one(self, upsert: Upsert, written_at: dt.datetime) -> None:
        """One row, alone; raises the driver's error if Cassandra rejects it."""
        columns, _ = table_layouts()[upsert.table]
        source_ts = dt.datetime.fromtimestamp(upsert.source_ts_ms / 1000, dt.timezone.utc)
        self.session.execute(self._upserts[upsert.table],
                             (*(upsert.values[c] for c in columns), upsert.timestamp, source_ts,
                              written_at, upsert.timestamp), timeout=30)

    def dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        statements = []
        for letter in letters:
            day = dt.datetime.fromtimestamp(letter.record_ms / 1000, dt.timezone.utc).date()
            statements.append((self._dead_letter, (
                letter.topic, day, letter.partition, letter.offset, letter.key, letter.value,
                letter.value_bytes, letter.error, now)))
        self._execute(statements)

    def record_progress(self, query_name: str, batch_id: int, records: int, rows_written: int,
                        rows_deleted: int, dead_letters: int, duration_ms: int,
                        max_source_ts_ms: int) -> None:
        max_ts = (dt.datetime.fromtimestamp(max_source_ts_ms / 1000, dt.timezone.utc)
                  if max_source_ts_ms else None)
        self._execute([(self._progress, (query_name, batch_id, records, rows_written, rows_deleted,
                                         dead_letters, duration_ms, max_ts,
                                         dt.datetime.now(dt.timezone.utc)))])

    def _execute(self, statements: list[tuple[Any, tuple]]) -> None:
        from cassandra.concurrent import execute_concurrent

        pending = statements
        for attempt in range(1, ATTEMPTS + 1):
            if not pending:
                return
            results = execute_concurrent(self.session, pending, concurrency=CONCURRENCY,
                                         raise_on_first_error=False)
            failed = [(pair, result) for pair, (ok, result) in zip(pending, results, strict=True)
                      if not ok]
            if not failed:
                return
            log.warning("%d of %d Cassandra writes failed (attempt %d/%d): %s", len(failed),
                        len(pending), attempt, ATTEMPTS, failed[0][1])
            pending = [pair for pair, _ in failed]
            time.sleep(min(0.2 * 2 ** attempt, 5))
        raise SinkError(f"{len(pending)} Cassandra writes still failing after {ATTEMPTS} attempts",
                        retryable=True)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None
