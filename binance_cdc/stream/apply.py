"""What every Spark task does with its slice of a micro-batch: parse, plan, write.

Runs inside Spark's Python workers. The Cassandra writer is created once per
worker process and reused across batches (workers are reused by default).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from binance_cdc.errors import SinkError
from binance_cdc.settings import CassandraSettings
from binance_cdc.sink.plan import plan_writes
from binance_cdc.sink.writer import CassandraWriter, DeadLetter
from binance_cdc.stream.envelope import BadRecord, Change, Skip, parse_record

log = logging.getLogger(__name__)

# Bounds memory per task: a partition is applied in chunks of this many records.
CHUNK = 5000


@dataclass(frozen=True)
class StreamTarget:
    """What a task needs to know; small and picklable."""

    cassandra: CassandraSettings
    topic_prefix: str
    schema: str


_writers: dict[tuple, CassandraWriter] = {}


def _writer(target: StreamTarget) -> CassandraWriter:
    key = (target.cassandra.host, target.cassandra.port, target.cassandra.keyspace)
    writer = _writers.get(key)
    if writer is None:
        writer = CassandraWriter(target.cassandra)
        writer.setup()
        _writers[key] = writer
    return writer


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else bytes(raw).decode("utf-8", errors="replace")


def classify(records: Iterable, target: StreamTarget) -> tuple[list[Change], list[DeadLetter], Counter]:
    """Split records (rows with topic, partition, offset, key, value) into changes,
    dead letters and counts of skipped records. Never raises for a bad record."""
    changes, dead, counts = [], [], Counter()
    for record in records:
        key = None if record.key is None else bytes(record.key)
        value = None if record.value is None else bytes(record.value)
        try:
            result = parse_record(record.topic, key, value, prefix=target.topic_prefix,
                                  schema=target.schema)
        except BadRecord as exc:
            dead.append(DeadLetter(record.topic, record.partition, record.offset, _text(key),
                                   _text(value), str(exc)))
            continue
        if isinstance(result, Skip):
            counts[f"skipped.{result.reason}"] += 1
            continue
        changes.append(result)
        counts[f"{result.dataset.name}.{result.source_op}"] += 1
        if result.unknown_columns:
            counts[f"{result.dataset.name}.unknown_columns"] += 1
    return changes, dead, counts


def apply_partition(records: Iterator, target: StreamTarget) -> Iterator[dict]:
    """mapPartitions body: apply the records, yield one dict of counts."""
    totals: Counter = Counter()
    max_source_ts_ms = 0
    chunk = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= CHUNK:
            max_source_ts_ms = max(max_source_ts_ms, _apply_chunk(chunk, target, totals))
            chunk = []
    if chunk:
        max_source_ts_ms = max(max_source_ts_ms, _apply_chunk(chunk, target, totals))
    yield {**totals, "max_source_ts_ms": max_source_ts_ms}


def _apply_chunk(chunk: list, target: StreamTarget, totals: Counter) -> int:
    changes, dead, counts = classify(chunk, target)
    totals["records"] += len(chunk)
    totals.update(counts)
    writer = _writer(target)
    try:
        written = writer.write(plan_writes(changes), dead)
    except SinkError:
        # Start from a fresh connection when Spark retries this task.
        _writers.pop(next(k for k, w in _writers.items() if w is writer), None)
        writer.close()
        raise
    totals.update({f"written.{k}": v for k, v in written.items()})
    return max((c.source_ts_ms for c in changes), default=0)
