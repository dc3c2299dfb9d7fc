"""`bench capture`: how fast committed Postgres changes arrive on Kafka, and how late.

Commits N inserts into ``binance.recent_trades`` for a symbol of its own (COPY,
one transaction per batch, as fast as Postgres takes them), then reads the
topic from the end offsets taken before the first commit until all N events
are there. Per event, latency is the Kafka record timestamp (CreateTime, set by
Connect's producer when it sends the event) minus ``source.ts_ms`` (the commit
time in Postgres); both clocks are this machine's. Throughput is N over the span
from the first commit to the last event's record timestamp, so reading the
topic afterwards does not count. The bench rows are deleted at the end, unless
``keep``; that emits N delete events and N tombstones, which the bench waits
for, so that a following run does not queue behind them (and the stream, if it
runs, removes the rows from Cassandra too).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from binance_cdc.datasets import RECENT_TRADES, Dataset
from binance_cdc.errors import BrokerError, ConfigError, StoreError
from binance_cdc.kafka.client import change_topic, end_offsets
from binance_cdc.kafka.consume import consume
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

DATASET = RECENT_TRADES


@dataclass(frozen=True)
class Latency:
    """Commit-to-Kafka latency of the events, in milliseconds."""

    p50: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, samples_ms: list[int]) -> Latency:
        ordered = sorted(samples_ms)
        return cls(p50=percentile(ordered, 50), p99=percentile(ordered, 99),
                   max=float(ordered[-1]), mean=sum(ordered) / len(ordered))


@dataclass(frozen=True)
class CaptureFigures:
    """What one `bench capture` run measured."""

    changes: int
    batch: int
    rate: float | None
    """Target changes/s of the commits; None: as fast as Postgres takes them."""
    table: str
    topic: str
    symbol: str
    commit_s: float
    """Wall time to commit every change."""
    capture_s: float
    """First commit (its source.ts_ms) to the last event's Kafka record timestamp."""
    arrival_s: float
    """First to last event's Kafka record timestamp."""
    latency_ms: Latency
    cleanup: str
    started_at: str
    environment: dict[str, object] = field(default_factory=dict)

    @property
    def commits_per_s(self) -> float:
        return self.changes / self.commit_s

    @property
    def events_per_s(self) -> float:
        """Capture throughput: changes over first commit -> last event on Kafka."""
        return self.changes / max(self.capture_s, 1e-3)

    @property
    def arrival_events_per_s(self) -> float:
        return self.changes / max(self.arrival_s, 1e-3)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.update(commits_per_s=self.commits_per_s, events_per_s=self.events_per_s,
                    arrival_events_per_s=self.arrival_events_per_s)
        return data


def percentile(ordered: list[int], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def bench_row(dataset: Dataset, symbol: str, n: int, now: dt.datetime) -> tuple[object, ...]:
    """Row ``n`` of the bench: ``symbol`` plus an integer key column ``n``; plausible values."""
    values: list[object] = []
    for column in dataset.columns:
        if column.name == "symbol":
            values.append(symbol)
        elif column.kind in ("bigint", "int"):
            values.append(n)
        elif column.kind == "decimal":
            values.append(Decimal(6_500_000 + n % 10_000).scaleb(-2))
        elif column.kind == "timestamp":
            values.append(now)
        elif column.kind == "boolean":
            values.append(n % 2 == 0)
        else:
            values.append(f"bench-{n}")
    return tuple(values)


def commit_changes(settings: Settings, symbol: str, changes: int, batch: int,
                   rate: float | None = None) -> float:
    """COPY ``changes`` bench rows in transactions of ``batch``; return the seconds it took.

    ``rate`` paces the commits to about that many changes per second (default: as
    fast as Postgres takes them): latency under a load the pipeline keeps up with
    differs from latency behind a queue.
    """
    import psycopg
    from psycopg import sql

    pg = settings.postgres
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(pg.schema_name, DATASET.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in DATASET.column_names))
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with connect(pg, autocommit=False) as conn:
            started = time.perf_counter()
            for first in range(0, changes, batch):
                if rate:
                    ahead = started + first / rate - time.perf_counter()
                    if ahead > 0:
                        time.sleep(ahead)
                with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as writer:
                    for n in range(first, min(first + batch, changes)):
                        writer.write_row(bench_row(DATASET, symbol, n, now))
            return time.perf_counter() - started
    except psycopg.Error as exc:
        raise StoreError(f"bench inserts into {pg.schema_name}.{DATASET.name} failed: {exc}",
                         retryable=True) from exc


def delete_changes(settings: Settings, symbol: str) -> int:
    import psycopg

    pg = settings.postgres
    try:
        with connect(pg) as conn:
            return conn.execute(f"DELETE FROM {pg.schema_name}.{DATASET.name} "
                                "WHERE symbol = %s", (symbol,)).rowcount
    except psycopg.Error as exc:
        raise StoreError(f"could not delete the bench rows of {symbol}: {exc}; delete them "
                         f"with DELETE FROM {pg.schema_name}.{DATASET.name} WHERE symbol = "
                         f"'{symbol}'") from exc


def collect(settings: Settings, topic: str, start: dict[int, int], symbol: str, changes: int,
            idle_timeout_s: float, op: str = "c") -> tuple[list[tuple[int, int]], dict[int, int]]:
    """(source.ts_ms, record timestamp) of the bench's ``op`` events in arrival order, and
    the offsets right after the last one per partition."""
    seen: list[tuple[int, int]] = []
    after = dict(start)
    for event in consume(settings.kafka, topic, start=start, from_beginning=not start,
                         idle_timeout_s=idle_timeout_s):
        if (event.op == op and isinstance(event.key, dict) and event.key.get("symbol") == symbol
                and event.source_ts_ms is not None and event.timestamp_ms is not None):
            seen.append((event.source_ts_ms, event.timestamp_ms))
            after[event.partition] = event.offset + 1
            if len(seen) == changes:
                return seen, after
    raise BrokerError(f"only {len(seen)} of {changes} {op!r} events for {symbol} reached {topic} "
                      f"(nothing new for {idle_timeout_s:.0f}s); is the connector running? "
                      "(`binance-cdc connector status`)", retryable=True)


def clean_up(settings: Settings, topic: str, after: dict[int, int], symbol: str,
             idle_timeout_s: float) -> str:
    """Delete the bench rows and wait for their delete events, so the next run starts on
    an idle connector rather than behind this run's deletes."""
    deleted = delete_changes(settings, symbol)
    started = time.perf_counter()
    if deleted:
        collect(settings, topic, after, symbol, deleted, idle_timeout_s, op="d")
    return (f"deleted {deleted} rows; their delete events reached Kafka in "
            f"{time.perf_counter() - started:.1f}s")


def bench_capture(settings: Settings, *, changes: int = 50_000, batch: int = 100,
                  rate: float | None = None, keep: bool = False,
                  idle_timeout_s: float = 60.0) -> CaptureFigures:
    """Commit ``changes`` inserts and measure their capture; see the module docstring."""
    if changes < 1 or batch < 1 or (rate is not None and rate <= 0):
        raise ConfigError(f"--changes, --batch and --rate must be positive (got {changes}, "
                          f"{batch}, {rate})")
    topic = change_topic(settings.kafka, settings.postgres.schema_name, DATASET.name)
    symbol = f"BENCH_{uuid.uuid4().hex[:10].upper()}"
    start = end_offsets(settings.kafka, topic).get(topic, {})
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    log.info("committing %d inserts for %s in transactions of %d", changes, symbol, batch)
    try:
        commit_s = commit_changes(settings, symbol, changes, batch, rate)
        log.info("committed in %.2fs; reading %s from %s", commit_s, topic, start)
        seen, after = collect(settings, topic, start, symbol, changes, idle_timeout_s)
    except BaseException:
        if not keep:
            delete_changes(settings, symbol)
        raise
    cleanup = "kept" if keep else clean_up(settings, topic, after, symbol, idle_timeout_s)
    first_commit = min(ts for ts, _ in seen)
    arrivals = [arrived for _, arrived in seen]
    return CaptureFigures(
        changes=changes, batch=batch, rate=rate, table=DATASET.name, topic=topic, symbol=symbol,
        commit_s=commit_s, capture_s=(max(arrivals) - first_commit) / 1000,
        arrival_s=(max(arrivals) - min(arrivals)) / 1000,
        latency_ms=Latency.of([arrived - ts for ts, arrived in seen]), cleanup=cleanup,
        started_at=started_at, environment={"cpus": os.cpu_count()})
