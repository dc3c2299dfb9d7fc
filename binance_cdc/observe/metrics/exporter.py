"""`binance-cdc exporter`: the pipeline's state that no process exports about itself.

At every scrape it reads, in parallel and each within a few seconds:

* Postgres: every replication slot of the database — retained WAL, unconfirmed
  WAL, active, wal_status, safe_wal_size (Debian's postgres exporter 0.11 has
  neither wal_status nor safe_wal_size, and would be one more process);
* Kafka + the stream's checkpoint: records per change topic the stream has not
  processed, and how old the oldest of them is (Spark's Kafka source commits no
  consumer group, so no Kafka exporter could see this);
* Cassandra: when the stream's last micro-batch finished (stream_progress).

Dead letters are counted by the stream itself (``binance_cdc_stream_dead_letters_total``):
counting the table here would scan it at every scrape. A backend that does not
answer gives ``binance_cdc_exporter_backend_up{backend} 0`` and no other sample,
never a failed scrape.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from binance_cdc.errors import ConfigError
from binance_cdc.observe.metrics.server import serve, stop_serving
from binance_cdc.observe.metrics.sources import ProgressReader, Slot, SlotReader, StreamLag, StreamLagReader
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

WAL_STATUSES = ("reserved", "extended", "unreserved", "lost")


def slot_families(slots: list[Slot]) -> list[GaugeMetricFamily]:
    retained = GaugeMetricFamily(
        "binance_cdc_postgres_slot_retained_wal_bytes",
        "WAL Postgres keeps for the slot (current LSN - restart_lsn).", labels=["slot"])
    confirmed = GaugeMetricFamily(
        "binance_cdc_postgres_slot_confirmed_flush_lag_bytes",
        "WAL the slot's consumer has not confirmed (current LSN - confirmed_flush_lsn).",
        labels=["slot"])
    active = GaugeMetricFamily(
        "binance_cdc_postgres_slot_active", "1 while a consumer (Debezium) is connected to the "
        "slot.", labels=["slot"])
    status = GaugeMetricFamily(
        "binance_cdc_postgres_slot_wal_status", "1 for the slot's wal_status (lost: the slot "
        "can no longer resume).", labels=["slot", "wal_status"])
    safe = GaugeMetricFamily(
        "binance_cdc_postgres_slot_safe_wal_size_bytes", "WAL that can still be written before "
        "the slot risks being lost (only with max_slot_wal_keep_size).", labels=["slot"])
    for slot in slots:
        if slot.retained_bytes is not None:
            retained.add_metric([slot.name], slot.retained_bytes)
        if slot.confirmed_lag_bytes is not None:
            confirmed.add_metric([slot.name], slot.confirmed_lag_bytes)
        active.add_metric([slot.name], int(slot.active))
        for state in WAL_STATUSES:
            status.add_metric([slot.name, state], int(slot.wal_status == state))
        if slot.safe_wal_size is not None:
            safe.add_metric([slot.name], slot.safe_wal_size)
    return [retained, confirmed, active, status, safe]


def lag_families(lag: StreamLag, now: float) -> list[GaugeMetricFamily]:
    records = GaugeMetricFamily(
        "binance_cdc_stream_consumer_lag_records", "Records of the change topic the stream has "
        "not processed (end offsets - the offsets in its checkpoint).", labels=["topic"])
    seconds = GaugeMetricFamily(
        "binance_cdc_stream_lag_seconds", "Age of the topic's oldest change the stream has not "
        "processed (0 when it has processed everything).", labels=["topic"])
    for topic, count in sorted(lag.records.items()):
        records.add_metric([topic], count)
        if not count:
            seconds.add_metric([topic], 0.0)
        elif topic in lag.oldest_pending_ts:
            seconds.add_metric([topic], max(0.0, now - lag.oldest_pending_ts[topic]))
    return [records, seconds]


def progress_family(finished: dict[str, Any]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "binance_cdc_stream_last_batch_timestamp_seconds", "When the stream query's last "
        "micro-batch with records finished (Cassandra's stream_progress).", labels=["query"])
    for query, finished_at in sorted(finished.items()):
        family.add_metric([query], finished_at.timestamp())
    return family


class PipelineCollector:
    """Reads the backends at every scrape (scrapes are serialised; readers are not thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.readers: dict[str, tuple[Any, Callable[[Any, float], list]]] = {
            "postgres": (SlotReader(settings), lambda slots, now: slot_families(slots)),
            "kafka": (StreamLagReader(settings), lag_families),
            "cassandra": (ProgressReader(settings), lambda rows, now: [progress_family(rows)]),
        }
        self._lock = threading.Lock()
        self._down: set[str] = set()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(self.readers),
                                                           thread_name_prefix="exporter")

    def collect(self) -> Iterator[Any]:
        with self._lock:
            futures = {name: self._pool.submit(reader.read)
                       for name, (reader, _) in self.readers.items()}
            now = time.time()
            up = GaugeMetricFamily("binance_cdc_exporter_backend_up", "1 if the exporter's last "
                                   "read of the backend succeeded.", labels=["backend"])
            for name, future in futures.items():
                try:
                    value = future.result()
                # Anything at all (an unreadable checkpoint, a driver error): the backend
                # counts as down and the scrape still answers.
                except Exception as exc:  # noqa: BLE001
                    # Once per outage, not at every scrape.
                    (log.debug if name in self._down else log.warning)("%s: %s", name, exc)
                    self._down.add(name)
                    up.add_metric([name], 0)
                    continue
                if name in self._down:
                    log.info("%s answers again", name)
                    self._down.discard(name)
                up.add_metric([name], 1)
                yield from self.readers[name][1](value, now)
            yield up

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        for reader, _ in self.readers.values():
            reader.close()


def run_exporter(settings: Settings, stop: threading.Event) -> None:
    """Serve the collector on METRICS_HOST:METRICS_EXPORTER_PORT until ``stop`` is set."""
    port, host = settings.metrics.exporter_port, settings.metrics.host
    if not port:
        raise ConfigError("METRICS_EXPORTER_PORT is 0 (off); set it to a port to run the exporter")
    registry = CollectorRegistry()
    collector = PipelineCollector(settings)
    registry.register(collector)
    if not serve(port, host, registry, what="exporter metrics"):
        raise ConfigError(f"the exporter cannot listen on {host}:{port}; is another exporter "
                          "running? Set METRICS_EXPORTER_PORT to a free port")
    log.info("exporter reading %s, Kafka at %s and Cassandra at %s:%s", settings.postgres.host,
             settings.kafka.bootstrap_servers, settings.cassandra.host, settings.cassandra.port)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        stop_serving(port, host)
        collector.close()
