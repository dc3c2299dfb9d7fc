"""What `binance-cdc exporter` reads at each scrape, one reader per backend.

Each reader keeps its connection between scrapes (a scrape every 15 s must not
open three connections) and reconnects after a failure. Every failure becomes a
project error; the exporter turns it into ``binance_cdc_exporter_backend_up 0``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from binance_cdc.errors import BrokerError, SinkError, StoreError
from binance_cdc.kafka.client import reader, topic_partitions, watermarks
from binance_cdc.observe.checkpoint import processed_offsets_of_queries, records_behind
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

SLOTS_SQL = (
    "SELECT slot_name, active, wal_status, safe_wal_size, "
    "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), "
    "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) "
    "FROM pg_replication_slots WHERE database = current_database() ORDER BY slot_name")
PENDING_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Slot:
    """One replication slot of the project's database."""

    name: str
    active: bool
    wal_status: str | None
    safe_wal_size: int | None
    retained_bytes: int | None
    """WAL Postgres keeps for the slot: current LSN minus its restart LSN."""
    confirmed_lag_bytes: int | None
    """WAL the consumer has not confirmed yet: current LSN minus confirmed_flush_lsn."""


@dataclass(frozen=True)
class StreamLag:
    """How far the stream's checkpoint is behind the change topics."""

    records: dict[str, int]
    """Topic -> records not processed yet."""
    oldest_pending_ts: dict[str, float]
    """Topic -> Kafka timestamp (s) of its oldest record not processed yet (if it could be read)."""


def _number(value: Any) -> int | None:
    return None if value is None else int(value)


class SlotReader:
    def __init__(self, settings: Settings) -> None:
        self.pg = settings.postgres
        self._conn: Any = None

    def read(self) -> list[Slot]:
        import psycopg

        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.pg)
            rows = self._conn.execute(SLOTS_SQL).fetchall()
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"cannot read pg_replication_slots at {self.pg.host}:{self.pg.port}: "
                             f"{exc}".strip(), retryable=True) from exc
        return [Slot(r[0], bool(r[1]), r[2], _number(r[3]), _number(r[4]), _number(r[5]))
                for r in rows]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


class StreamLagReader:
    """End offsets of the change topics against the stream's checkpoints (SPARK_CHECKPOINT_DIR)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pattern = f"{settings.kafka.topic_prefix}.{settings.postgres.schema_name}.*"
        self._consumer: Any = None

    def read(self) -> StreamLag:
        kafka = self.settings.kafka
        if self._consumer is None:
            # Small fetches: it only ever reads the first pending record of a partition.
            self._consumer = reader(kafka, **{"max.partition.fetch.bytes": 65536,
                                              "queued.max.messages.kbytes": 1024})
        try:
            marks = watermarks(self._consumer, kafka,
                               topic_partitions(self._consumer, kafka, self.pattern))
        except BrokerError:
            self.close()
            raise
        checkpoint = processed_offsets_of_queries(self.settings.spark.checkpoint_dir)
        done = checkpoint.offsets if checkpoint is not None else {}
        records = {topic: records_behind(parts, done.get(topic)) for topic, parts in marks.items()}
        pending = {(topic, p): max(low, done.get(topic, {}).get(p, low))
                   for topic, parts in marks.items() for p, (low, high) in parts.items()
                   if high > max(low, done.get(topic, {}).get(p, low))}
        return StreamLag(records, self._oldest_timestamps(pending) if pending else {})

    def _oldest_timestamps(self, positions: dict[tuple[str, int], int]) -> dict[str, float]:
        """Topic -> Kafka timestamp of the oldest of its records at ``positions``."""
        from confluent_kafka import TopicPartition

        consumer = self._consumer
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in positions.items()])
        wanted = set(positions)
        oldest: dict[str, float] = {}
        deadline = time.monotonic() + PENDING_TIMEOUT_S
        try:
            while wanted and time.monotonic() < deadline:
                message = consumer.poll(0.1)
                if message is None or message.error():
                    continue
                key = (message.topic(), message.partition())
                if key in wanted and message.offset() == positions[key]:
                    wanted.discard(key)
                    ts_ms = message.timestamp()[1]
                    if ts_ms > 0:
                        topic = key[0]
                        oldest[topic] = min(oldest.get(topic, ts_ms / 1000), ts_ms / 1000)
        finally:
            consumer.unassign()
        if wanted:
            log.debug("no record read at %s within %.0fs", sorted(wanted), PENDING_TIMEOUT_S)
        return oldest

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
        self._consumer = None


class ProgressReader:
    """The stream's last micro-batch, from Cassandra's stream_progress."""

    def __init__(self, settings: Settings) -> None:
        self.cass = settings.cassandra
        self._cluster: Any = None
        self._session: Any = None

    def read(self) -> dict[str, dt.datetime]:
        """Query name -> when its last micro-batch finished (nothing before the schema exists)."""
        from cassandra import DriverException, InvalidRequest
        from cassandra.cluster import NoHostAvailable

        try:
            if self._session is None:
                from binance_cdc.sink.connection import new_cluster

                self._cluster = new_cluster(self.cass)
                self._session = self._cluster.connect()
            rows = self._session.execute(
                f'SELECT query_name, finished_at FROM "{self.cass.keyspace}".stream_progress',
                timeout=5)
        except InvalidRequest as exc:
            log.debug("no stream_progress yet: %s", exc)
            return {}
        except (NoHostAvailable, DriverException, OSError) as exc:
            self.close()
            raise SinkError(f"cannot read stream_progress from Cassandra at {self.cass.host}:"
                            f"{self.cass.port}: {exc}", retryable=True) from exc
        return {row.query_name: row.finished_at for row in rows if row.finished_at is not None}

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None
