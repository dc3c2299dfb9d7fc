"""The Structured Streaming job: Kafka `<prefix>.<schema>.*` -> Cassandra.

Spark reads the change topics with its Kafka source (checkpointed offsets, so
a restart resumes where it stopped; earliest offsets on the very first run),
and every micro-batch is applied by :mod:`binance_cdc.stream.apply` in the
executors. A failed batch (Cassandra unreachable, say) stops the query; the
job waits and starts it again from the checkpoint, which replays the batch:
harmless, because every write is idempotent.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import time
from collections import Counter

from binance_cdc.errors import StreamError
from binance_cdc.settings import Settings
from binance_cdc.stack.jars import spark_jars
from binance_cdc.stream.apply import StreamTarget, apply_partition

log = logging.getLogger(__name__)


def build_session(settings: Settings):  # noqa: ANN201
    """A SparkSession with the connector jars from the local Maven folder (never Ivy)."""
    from pyspark.sql import SparkSession

    jars = spark_jars(settings.stack)
    if not any("spark-sql-kafka" in j.name for j in jars):
        raise StreamError(f"the Spark Kafka source jar is missing from "
                          f"{settings.stack.jars_dir / 'spark'}; run `binance-cdc stack jars`")
    cass, spark = settings.cassandra, settings.spark
    session = (
        SparkSession.builder.appName(spark.query_name).master(spark.master)
        .config("spark.jars", ",".join(str(j) for j in jars))
        .config("spark.driver.memory", spark.driver_memory)
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.streaming.stopGracefullyOnShutdown", "true")
        # Lets users query the replica from Spark SQL: SELECT * FROM cassandra.binance.klines
        .config("spark.sql.catalog.cassandra",
                "com.datastax.spark.connector.datasource.CassandraCatalog")
        .config("spark.sql.extensions", "com.datastax.spark.connector.CassandraSparkExtensions")
        .config("spark.cassandra.connection.host", cass.host)
        .config("spark.cassandra.connection.port", str(cass.port))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel(spark.log_level)
    _quiet_jvm_loggers(session)
    return session


# Warnings that fire on every micro-batch and say nothing actionable here: the
# Kafka consumer thread note (KAFKA-1894) and "batch is falling behind" (our
# own batch log line reports durations).
QUIET_LOGGERS = (
    "org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer",
    "org.apache.spark.sql.execution.streaming.ProcessingTimeExecutor",
)


def _quiet_jvm_loggers(session) -> None:  # noqa: ANN001
    jvm = session.sparkContext._jvm  # noqa: SLF001 - log4j is only reachable through py4j
    error = jvm.org.apache.logging.log4j.Level.ERROR
    for name in QUIET_LOGGERS:
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, error)


def topic_pattern(settings: Settings) -> str:
    return f"{re.escape(settings.kafka.topic_prefix)}\\.{re.escape(settings.postgres.schema_name)}\\..*"


def start_query(session, settings: Settings):  # noqa: ANN001, ANN201
    target = StreamTarget(settings.cassandra, settings.kafka.topic_prefix,
                          settings.postgres.schema_name)
    progress = ProgressRecorder(settings)
    stream = (
        session.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap_servers)
        .option("subscribePattern", topic_pattern(settings))
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(settings.spark.max_offsets_per_trigger))
        # A table's topic appears with its first change; find it within seconds.
        .option("kafka.metadata.max.age.ms", "5000")
        # Topics deleted by `stack reset` must not wedge the job; verify catches real loss.
        .option("failOnDataLoss", "false")
        .load()
        .select("topic", "partition", "offset", "key", "value")
    )
    return (
        stream.writeStream.queryName(settings.spark.query_name)
        .option("checkpointLocation", str(settings.spark.checkpoint_dir))
        .trigger(processingTime=f"{settings.spark.trigger_seconds} seconds")
        .foreachBatch(functools.partial(apply_batch, target=target, progress=progress))
        .start()
    )


def apply_batch(batch, batch_id: int, *, target: StreamTarget,  # noqa: ANN001
                progress: ProgressRecorder) -> None:
    started = time.monotonic()
    parts = batch.rdd.mapPartitions(functools.partial(apply_partition, target=target)).collect()
    totals: Counter = Counter()
    max_source_ts_ms = 0
    for part in parts:
        max_source_ts_ms = max(max_source_ts_ms, part.pop("max_source_ts_ms", 0))
        totals.update(part)
    duration_ms = int((time.monotonic() - started) * 1000)
    if totals["records"] == 0:
        return
    lag_ms = int(time.time() * 1000) - max_source_ts_ms if max_source_ts_ms else None
    ops = ", ".join(f"{k}={v}" for k, v in sorted(totals.items())
                    if k != "records" and not k.startswith("written."))
    log.info("batch %d: %d records in %d ms, commit->written lag %s ms; %s", batch_id,
             totals["records"], duration_ms, lag_ms, ops)
    written = ", ".join(f"{k[8:]}={v}" for k, v in sorted(totals.items()) if k.startswith("written."))
    log.debug("batch %d writes: %s", batch_id, written)
    progress.record(batch_id, totals, duration_ms, max_source_ts_ms)


class ProgressRecorder:
    """Writes the last micro-batch's figures to Cassandra's stream_progress table."""

    def __init__(self, settings: Settings) -> None:
        self.cass = settings.cassandra
        self.query_name = settings.spark.query_name
        self._cluster = None
        self._session = None

    def _connect(self):  # noqa: ANN202
        if self._session is None:
            from binance_cdc.sink.connection import new_cluster

            self._cluster = new_cluster(self.cass)
            self._session = self._cluster.connect(self.cass.keyspace)
        return self._session

    def record(self, batch_id: int, totals: Counter, duration_ms: int,
               max_source_ts_ms: int) -> None:
        written = {k[len("written."):]: v for k, v in totals.items() if k.startswith("written.")}
        upserts = sum(v for k, v in written.items() if k.endswith(".upsert"))
        deletes = sum(v for k, v in written.items() if k.endswith(".delete"))
        max_ts = (dt.datetime.fromtimestamp(max_source_ts_ms / 1000, dt.timezone.utc)
                  if max_source_ts_ms else None)
        try:
            self._connect().execute(
                "INSERT INTO stream_progress (query_name, batch_id, records, rows_written, "
                "rows_deleted, dead_letters, duration_ms, max_source_ts, finished_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (self.query_name, batch_id, totals["records"], upserts, deletes,
                 written.get("dead_letters", 0), duration_ms, max_ts,
                 dt.datetime.now(dt.timezone.utc)))
        except Exception as exc:  # noqa: BLE001 - progress is informational only
            log.warning("could not record stream progress: %s", exc)
            self.close()

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None
