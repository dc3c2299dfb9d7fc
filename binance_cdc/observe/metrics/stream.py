"""The stream job's metrics, recorded by the Spark driver once per micro-batch.

Only the driver can serve them: code in the executors (UDFs, ``mapPartitions``)
runs in other Python processes, so the batch function adds up what the
executors report and hands the totals to :meth:`StreamMetrics.record_batch`.
Kafka consumer lag is not here: Spark keeps the stream's offsets in its
checkpoint, so ``binance-cdc exporter`` measures it, also while the job is down.

The stream calls, on the driver::

    from binance_cdc.observe.metrics.stream import STREAM_METRICS
    STREAM_METRICS.start(settings.metrics.stream_port, settings.metrics.host)  # once
    STREAM_METRICS.record_batch({("klines", "upsert"): 12, ("order_book", "delete"): 3},
                                dead_letters=0, duration_s=0.41,
                                commit_to_written_lag_s=0.9, records=15)      # per batch
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from binance_cdc.observe.metrics.server import serve

# Micro-batches take from tens of milliseconds (idle) to tens of seconds (catching up).
BATCH_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class StreamMetrics:
    """The stream's metric families on one registry; cheap to update, served on demand."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.records = Counter(
            "binance_cdc_stream_records", "Change records read from Kafka (tombstones and "
            "heartbeats included).", registry=registry)
        self.rows_written = Counter(
            "binance_cdc_stream_rows_written", "Rows written to Cassandra, by table and "
            "operation (upsert, delete).", ["table", "op"], registry=registry)
        self.dead_letters = Counter(
            "binance_cdc_stream_dead_letters", "Records written to the dead_letters table.",
            registry=registry)
        self.batches = Counter(
            "binance_cdc_stream_batches", "Micro-batches applied.", registry=registry)
        self.batch_duration = Histogram(
            "binance_cdc_stream_batch_duration_seconds", "Time to apply one micro-batch.",
            buckets=BATCH_SECONDS_BUCKETS, registry=registry)
        self.commit_to_written_lag = Gauge(
            "binance_cdc_stream_commit_to_written_lag_seconds", "Commit in Postgres to write "
            "in Cassandra of the newest change of the last micro-batch.", registry=registry)

    def start(self, port: int, host: str = "127.0.0.1") -> bool:
        """Serve the metrics on http://host:port/metrics (idempotent; port 0: off).

        Never raises: a taken port is logged and the stream runs without metrics.
        """
        return serve(port, host, self.registry, what="stream metrics")

    def record_batch(self, counts_by_table_and_op: Mapping[tuple[str, str], int], dead_letters: int,
                     duration_s: float, commit_to_written_lag_s: float | None,
                     records: int | None = None) -> None:
        """Add one applied micro-batch.

        ``counts_by_table_and_op`` counts rows written per (table, op); ``records`` is
        what the batch read from Kafka (default: the rows plus the dead letters);
        ``commit_to_written_lag_s`` is None when the batch had no change with a commit time.
        """
        for (table, op), count in counts_by_table_and_op.items():
            if count:
                self.rows_written.labels(table, op).inc(count)
        if dead_letters:
            self.dead_letters.inc(dead_letters)
        if records is None:
            records = sum(counts_by_table_and_op.values()) + dead_letters
        self.records.inc(records)
        self.batches.inc()
        self.batch_duration.observe(duration_s)
        if commit_to_written_lag_s is not None:
            self.commit_to_written_lag.set(commit_to_written_lag_s)


STREAM_METRICS = StreamMetrics()
"""The stream job's metrics on the process's default registry (one per process)."""
