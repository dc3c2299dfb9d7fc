"""`bench pipeline` and `bench stream`: the whole pipeline under load.

One run of the load generator (binance_cdc/bench/load.py) is measured three ways:

* capture rate, PG -> Kafka: the run's changes over first commit -> the Kafka
  record timestamp of the last of their events;
* end-to-end rate, PG -> Cassandra: the run's changes over first commit -> the
  last ``written_at`` among the run's rows in Cassandra;
* commit -> Cassandra latency per row: ``written_at - source_ts`` of every bench
  trade still alive (the recent_trades replica, read by key) and of the bench prices.
"Drain" is how long after the last commit the last row was written; a stream
that keeps up drains within about one trigger interval plus a batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from binance_cdc.bench.capture import percentile
from binance_cdc.bench.load import LoadResult, Mix, cleanup, generate, new_run
from binance_cdc.errors import BinanceCdcError
from binance_cdc.kafka.client import change_topic, end_offsets
from binance_cdc.kafka.consume import consume
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session

if TYPE_CHECKING:
    from cassandra.cluster import Session

log = logging.getLogger(__name__)

DEFAULT_MIX = Mix()


class BenchError(BinanceCdcError):
    """A benchmark could not complete its measurement."""


@dataclass(frozen=True)
class StepFigures:
    label: str
    target_rate: float | None
    duration_s: float
    changes: int
    inserts: int
    updates: int
    deletes: int
    committed_per_s: float
    capture_per_s: float
    e2e_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    drain_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def run_step(settings: Settings, label: str, *, rate: float | None, duration_s: float,
             batch: int = 50, mix: Mix = DEFAULT_MIX, timeout_s: float = 300.0,
             leftovers: list[LoadResult] | None = None) -> StepFigures:
    """Generate load, then wait for it to reach Kafka and Cassandra and measure.

    The run's rows are deleted afterwards, or appended to ``leftovers`` for the
    caller to delete once every step is measured (their deletes are load too).
    """
    topics = {t: change_topic(settings.kafka, settings.postgres.schema_name, t)
              for t in ("recent_trades", "latest_prices")}
    start = {t: end_offsets(settings.kafka, topic).get(topic, {}) for t, topic in topics.items()}
    result = generate(settings, new_run(rate), duration_s=duration_s, batch=batch, mix=mix)
    try:
        last_kafka_ms = max(
            _last_event_ms(settings, topics["recent_trades"], start["recent_trades"],
                           {result.trade_symbol}, result.inserts + result.deletes, timeout_s),
            _last_event_ms(settings, topics["latest_prices"], start["latest_prices"],
                           set(result.price_symbols), result.updates + len(result.price_symbols),
                           timeout_s))
        latencies, last_written_ms = _wait_in_cassandra(settings, result, timeout_s)
    finally:
        if leftovers is None:
            cleanup(settings, result)
        else:
            leftovers.append(result)
    ordered = sorted(latencies)
    first = result.first_commit_ms
    return StepFigures(
        label=label, target_rate=rate, duration_s=duration_s, changes=result.changes,
        inserts=result.inserts, updates=result.updates, deletes=result.deletes,
        committed_per_s=result.committed_per_s,
        capture_per_s=result.changes / max((last_kafka_ms - first) / 1000, 1e-3),
        e2e_per_s=result.changes / max((last_written_ms - first) / 1000, 1e-3),
        latency_p50_ms=percentile(ordered, 50), latency_p95_ms=percentile(ordered, 95),
        latency_p99_ms=percentile(ordered, 99), latency_max_ms=float(ordered[-1]),
        drain_s=max(0.0, (last_written_ms - result.last_commit_ms) / 1000))


def _last_event_ms(settings: Settings, topic: str, start: dict[int, int], symbols: set[str],
                   expected: int, timeout_s: float) -> int:
    seen, last = 0, 0
    # A topic created by this very run had no offsets before it: read it from the start.
    for event in consume(settings.kafka, topic, start=start, from_beginning=not start,
                         idle_timeout_s=timeout_s):
        if event.op in ("c", "u", "d") and isinstance(event.key, dict) \
                and event.key.get("symbol") in symbols:
            seen += 1
            last = max(last, event.timestamp_ms or 0)
            if seen >= expected:
                return last
    raise BenchError(f"only {seen} of {expected} events reached {topic}; is the connector "
                     "running? (`binance-cdc connector status`)", retryable=True)


def _wait_in_cassandra(settings: Settings, result: LoadResult,
                       timeout_s: float) -> tuple[list[int], int]:
    """Wait until Cassandra holds the run's final state; return latencies and last write.

    Reads the recent_trades replica by key (one partition per trade), never a
    partition with the run's deletes in it: scanning tombstones is slow and
    floods the node's log with warnings. Deleted trades (the oldest ones) must
    be gone, live ones present, and every price at its final value.
    """
    cass = settings.cassandra
    deadline = time.monotonic() + timeout_s
    deleted = list(range(result.deletes))
    missing = list(range(result.deletes, result.inserts))
    found: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    with cassandra_session(cass, keyspace=cass.keyspace, timeout_s=10) as session:
        trades = session.prepare("SELECT trade_id, source_ts, written_at FROM recent_trades "
                                 "WHERE symbol = ? AND trade_id IN ?")
        while True:
            for row in _read_trades(session, trades, result.trade_symbol, missing):
                found[row.trade_id] = (row.source_ts, row.written_at)
            missing = [t for t in missing if t not in found]
            lingering = sum(1 for _ in _read_trades(session, trades, result.trade_symbol, deleted))
            prices = list(session.execute(
                "SELECT symbol, price, source_ts, written_at FROM latest_prices WHERE symbol IN "
                f"({', '.join(['%s'] * len(result.price_symbols))})", result.price_symbols))
            prices_done = all(result.final_prices.get(p.symbol, 1) == p.price for p in prices) \
                and len(prices) == len(result.price_symbols)
            if not missing and not lingering and prices_done:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"Cassandra did not catch up within {timeout_s:.0f}s ({len(missing)} "
                                 f"trades missing, {lingering} deleted trades still there); is the "
                                 "stream running? (`binance-cdc status`)", retryable=True)
            time.sleep(0.5)
    rows = [*found.values(), *((p.source_ts, p.written_at) for p in prices)]
    latencies = [_ms(written) - _ms(source) for source, written in rows]
    return latencies, max(_ms(written) for _, written in rows)


def _read_trades(session: Session, statement: object, symbol: str, ids: list[int]) -> list:
    from cassandra.concurrent import execute_concurrent_with_args

    chunks = [(symbol, ids[i:i + 100]) for i in range(0, len(ids), 100)]
    rows = []
    for _ok, result in execute_concurrent_with_args(session, statement, chunks, concurrency=16,
                                                   raise_on_first_error=True):
        rows.extend(result)
    return rows


def _ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp() * 1000)
