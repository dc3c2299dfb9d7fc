"""Apply planned writes to Cassandra: setup / write / close.

Statements are prepared once per table with ``USING TIMESTAMP ?`` bound to the
change's LSN, and sent as UNLOGGED batches of up to :data:`BATCH_STATEMENTS`
(each statement keeps its own timestamp). Batching is not for atomicity: it
cuts the Python driver's per-request overhead, the stream's bottleneck, by an
order of magnitude. Transient failures are retried per batch; what still fails
raises :class:`SinkError`, which fails the micro-batch so Spark replays it from
the checkpoint (harmless: every write is idempotent).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass

from binance_cdc.datasets import DATASETS, REPLICA_META_COLUMNS
from binance_cdc.errors import SinkError
from binance_cdc.settings import CassandraSettings
from binance_cdc.sink.plan import Write
from binance_cdc.sink.query_tables import QUERY_TABLES

log = logging.getLogger(__name__)

META = tuple(c.name for c in REPLICA_META_COLUMNS)
CONCURRENCY = 16
ATTEMPTS = 5
BATCH_STATEMENTS = 50


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str | None
    error: str


def _table_layouts() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """table -> (data columns, key columns) for every table the stream writes."""
    layouts = {d.name: (d.column_names, d.primary_key) for d in DATASETS.values()}
    layouts.update({q.name: (q.columns, q.key) for q in QUERY_TABLES})
    return layouts


class CassandraWriter:
    """Writes replica rows, query rows and dead letters. Connects in :meth:`setup`."""

    def __init__(self, cass: CassandraSettings) -> None:
        self.cass = cass
        self._cluster = None
        self._session = None
        self._upserts: dict[str, object] = {}
        self._deletes: dict[str, object] = {}
        self._dead_letter = None

    def setup(self) -> None:
        from binance_cdc.sink.connection import new_cluster

        self._cluster = new_cluster(self.cass, timeout_s=10)
        try:
            self._session = self._cluster.connect(self.cass.keyspace)
        except Exception as exc:
            self._cluster.shutdown()
            raise SinkError(f"cannot connect to Cassandra keyspace {self.cass.keyspace} at "
                            f"{self.cass.host}:{self.cass.port}: {exc}", retryable=True) from exc
        ks = self.cass.keyspace
        for table, (columns, key) in _table_layouts().items():
            names = (*columns, *META)
            self._upserts[table] = self._session.prepare(
                f"INSERT INTO {ks}.{table} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))}) USING TIMESTAMP ?")
            self._deletes[table] = self._session.prepare(
                f"DELETE FROM {ks}.{table} USING TIMESTAMP ? WHERE "
                + " AND ".join(f"{k} = ?" for k in key))
        self._dead_letter = self._session.prepare(
            f"INSERT INTO {ks}.dead_letters (topic, partition, offset, record_key, record_value, "
            "error, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)")

    @property
    def session(self):  # noqa: ANN201
        if self._session is None:
            raise SinkError("CassandraWriter.setup() was not called")
        return self._session

    def write(self, writes: list[Write], dead_letters: list[DeadLetter]) -> Counter:
        """Apply everything; return counts like ``{'klines.upsert': 3, 'dead_letters': 1}``."""
        now = dt.datetime.now(dt.timezone.utc)
        layouts = _table_layouts()
        statements = []
        counts: Counter = Counter()
        # Neighbours in a batch then often share a partition (a symbol's book or klines).
        writes = sorted(writes, key=lambda w: (w.table, str(w.values.get("symbol", ""))))
        for write in writes:
            columns, key = layouts[write.table]
            if write.kind == "upsert":
                source_ts = dt.datetime.fromtimestamp(write.source_ts_ms / 1000, dt.timezone.utc)
                params = (*(write.values[c] for c in columns), write.timestamp, source_ts, now,
                          write.timestamp)
                statements.append((self._upserts[write.table], params))
            else:
                params = (write.timestamp, *(write.values[k] for k in key))
                statements.append((self._deletes[write.table], params))
            counts[f"{write.table}.{write.kind}"] += 1
        for letter in dead_letters:
            statements.append((self._dead_letter, (letter.topic, letter.partition, letter.offset,
                                                   letter.key, letter.value, letter.error, now)))
        counts["dead_letters"] += len(dead_letters)
        self._execute(statements)
        return counts

    def _execute(self, statements: list[tuple]) -> None:
        from cassandra.concurrent import execute_concurrent

        pending = statements
        for attempt in range(1, ATTEMPTS + 1):
            if not pending:
                return
            pending_batches = _batches(pending)
            results = execute_concurrent(self.session, [(b, ()) for b in pending_batches],
                                         concurrency=CONCURRENCY, raise_on_first_error=False)
            failed = [(batch, result) for batch, (ok, result)
                      in zip(pending_batches, results, strict=True) if not ok]
            if not failed:
                return
            log.warning("%d of %d Cassandra write batches failed (attempt %d/%d): %s",
                        len(failed), len(pending_batches), attempt, ATTEMPTS, failed[0][1])
            pending = [pair for batch, _ in failed for pair in batch.pairs]
            time.sleep(min(0.2 * 2 ** attempt, 5))
        raise SinkError(f"{len(pending)} Cassandra writes still failing after {ATTEMPTS} attempts",
                        retryable=True)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None


def _batches(statements: list[tuple]) -> list:
    """UNLOGGED batches of (prepared statement, parameters), remembering their pairs."""
    from cassandra.query import BatchStatement, BatchType

    batches = []
    for first in range(0, len(statements), BATCH_STATEMENTS):
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        batch.pairs = statements[first:first + BATCH_STATEMENTS]
        for prepared, params in batch.pairs:
            batch.add(prepared, params)
        batches.append(batch)
    return batches
