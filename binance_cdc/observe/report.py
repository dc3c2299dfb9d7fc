"""The status report: one dataclass per section, each able to say why it is empty.

Every section has ``error``: None when it was collected, else the reason
(service down, table missing...), so a report is complete even when half the
stack is not running.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServiceRow:
    name: str
    state: str
    """healthy, unhealthy or stopped."""
    pid: int | None
    ports: list[int]
    detail: str
    rss_bytes: int | None = None


@dataclass
class ServicesSection:
    services: list[ServiceRow] = field(default_factory=list)
    error: str | None = None


@dataclass
class CdcSection:
    connector: str = ""
    state: str | None = None
    """The connector's state; None if it is not registered."""
    worker_id: str | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    """id, state and worker of each task."""
    likely_cause: str | None = None
    """Set when the connector or a task FAILED."""
    slot_name: str = ""
    slot: dict[str, Any] | None = None
    """The replication slot's state (active, lag_bytes, confirmed_flush_lsn, wal_status)."""
    slot_error: str | None = None
    slot_lag_warning: bool = False
    slot_risk: str | None = None
    """Set when the slot may lose (or lost) WAL Debezium needs: what happens, what to do."""
    slot_lost: bool = False
    error: str | None = None


@dataclass
class TopicRow:
    topic: str
    end_offsets: dict[int, int]
    stream_offsets: dict[int, int] | None = None
    """What the stream has processed, from its checkpoint; None if it never read the topic."""
    lag: int | None = None
    """Records on the topic the stream has not processed yet."""
    lost: int = 0
    """Records retention deleted before the stream applied them (the stream then fails)."""
    retention_ms: int | None = None
    oldest_unapplied_ms: int | None = None
    """Age of the oldest record the stream has not applied yet (None: none waiting)."""

    @property
    def retention_used(self) -> float | None:
        """How much of the topic's retention the oldest unapplied record has used up."""
        if not self.retention_ms or self.oldest_unapplied_ms is None:
            return None
        return self.oldest_unapplied_ms / self.retention_ms


@dataclass
class TopicsSection:
    topics: list[TopicRow] = field(default_factory=list)
    checkpoint_batch: int | None = None
    checkpoint_committed: bool | None = None
    checkpoint_path: str | None = None
    checkpoint_note: str | None = None
    """Why there are no stream offsets (no checkpoint yet, unreadable...)."""
    error: str | None = None


@dataclass
class MicroBatch:
    query_name: str
    batch_id: int | None
    records: int | None
    rows_written: int | None
    rows_deleted: int | None
    dead_letters: int | None
    duration_ms: int | None
    max_source_ts: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass
class StreamSection:
    batches: list[MicroBatch] = field(default_factory=list)
    job: str | None = None
    """The stream job itself: running, restarting after failure N of M, stopped, failed."""
    watermarks: dict[str, dt.datetime] = field(default_factory=dict)
    """Event-time watermark of each windowed query (trade metrics): minutes that ended
    by then are closed."""
    error: str | None = None


@dataclass
class CassandraSection:
    counts: dict[str, int | None] = field(default_factory=dict)
    """Rows per table: exact, or an estimate for the tables in ``estimated``; None only when
    counting failed and no statistics exist yet."""
    estimated: dict[str, str] = field(default_factory=dict)
    """Table -> where its figure comes from, for the counts that are estimates."""
    count_errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass
class ExtractionRun:
    dataset: str
    started_at: dt.datetime
    finished_at: dt.datetime
    status: str
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    requests: int
    weight_used: int
    error: str | None


@dataclass
class LiveProgress:
    """The live trade writer's progress on one symbol (binance.live_trade_progress)."""

    symbol: str
    last_complete_id: int
    known_gaps: list[list[int]]
    """[low, high] id ranges the exchange does not have."""
    updated_at: dt.datetime


@dataclass
class ExtractionSection:
    runs: list[ExtractionRun] = field(default_factory=list)
    """The newest run of each dataset that has one."""
    live: list[LiveProgress] = field(default_factory=list)
    """Per symbol, the live trade writer's last complete id and known gaps."""
    error: str | None = None


@dataclass
class StatusReport:
    collected_at: dt.datetime
    services: ServicesSection
    cdc: CdcSection
    topics: TopicsSection
    stream: StreamSection
    cassandra: CassandraSection
    extraction: ExtractionSection

    SECTIONS = ("services", "cdc", "topics", "stream", "cassandra", "extraction")

    @property
    def errors(self) -> dict[str, str]:
        """Section -> reason, for every section that could not be collected."""
        return {name: getattr(self, name).error for name in self.SECTIONS
                if getattr(self, name).error}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO-8601 strings, partition numbers as string keys."""
        return _jsonable(dataclasses.asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # the Cassandra driver's datetimes are naive UTC
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.isoformat()
    return value
