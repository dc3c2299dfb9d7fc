"""The Structured Streaming job: one query per dataset, Kafka topic -> Cassandra.

The job always runs under ``spark-submit`` (binance_cdc/stream/submit.py builds
the command), so the connector jars are on the driver's classpath from the
start, ``--master`` and memory are whatever spark-submit was told, and the same
job runs on ``local[2]`` or on a standalone cluster. Nothing here sets the
master or a launch-time setting: only runtime SQL settings, from the settings.

Each dataset's topic gets its own query (its own checkpoint under
SPARK_CHECKPOINT_DIR/<dataset>): a micro-batch then touches one table's
records only, topics are applied in parallel, and a failing table does not
hold the others back. Offsets live in the checkpoints; the first run starts at
the earliest offsets.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from binance_cdc.datasets import Dataset
from binance_cdc.errors import StreamError
from binance_cdc.settings import Settings
from binance_cdc.stream.batch import BatchApplier

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = logging.getLogger(__name__)

# Classes the job needs from the jars spark-submit must be given (--jars,
# --packages or --properties-file): the Kafka source and the Cassandra connector.
REQUIRED_CLASSES = {
    "org.apache.spark.sql.kafka010.KafkaSourceProvider": "spark-sql-kafka-0-10",
    "com.datastax.spark.connector.datasource.CassandraCatalog": "spark-cassandra-connector",
}

# Warnings that fire on every micro-batch and say nothing actionable here: the
# Kafka consumer thread note (KAFKA-1894), "batch is falling behind" (our own
# batch log line reports durations) and the admin client's per-call notes.
QUIET_LOGGERS = (
    "org.apache.spark.sql.kafka010.consumer.KafkaDataConsumer",
    "org.apache.spark.sql.execution.streaming.ProcessingTimeExecutor",
    "org.apache.kafka",
)


def active_session() -> SparkSession:
    """The session of the JVM spark-submit started (never a master of our own)."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def missing_from_launch_conf() -> list[str]:
    """Artifacts spark-submit was not given (--jars, --packages or the properties file).

    Read from the launch configuration before any SparkContext exists, so a bare
    ``spark-submit spark_streaming.py`` fails in seconds, not after a session start.
    """
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # noqa: SLF001 - attaches to spark-submit's JVM only
    conf = SparkConf()
    given = ",".join(conf.get(key, "") or "" for key in
                     ("spark.jars", "spark.driver.extraClassPath", "spark.jars.packages"))
    return [artifact for artifact in REQUIRED_CLASSES.values() if artifact not in given]


def missing_jars(session: SparkSession) -> list[str]:
    """Artifact names whose classes the driver cannot load."""
    jvm = session.sparkContext._jvm  # noqa: SLF001 - class loading is only reachable through py4j
    loader = jvm.org.apache.spark.util.Utils.getContextOrSparkClassLoader()
    missing = []
    for name, artifact in REQUIRED_CLASSES.items():
        try:
            jvm.java.lang.Class.forName(name, False, loader)
        except Exception:  # noqa: BLE001 - py4j wraps ClassNotFoundException
            missing.append(artifact)
    return missing


def configure(session: SparkSession, settings: Settings) -> None:
    """Runtime settings of the session, from the settings object."""
    cass = settings.cassandra
    for key, value in {
        # trade_date and every derived date are UTC days.
        "spark.sql.session.timeZone": "UTC",
        "spark.cassandra.connection.host": cass.host,
        "spark.cassandra.connection.port": str(cass.port),
        # The stream's role (SELECT and MODIFY on the keyspace only); Spark's UI and logs
        # redact keys with "password" in them.
        "spark.cassandra.auth.username": cass.user,
        "spark.cassandra.auth.password": cass.password.get_secret_value(),
        # Keep the connector's session between micro-batches (default 5 s).
        "spark.cassandra.connection.keepAliveMS": "60000",
        "spark.cassandra.output.consistency.level": cass.write_consistency,
        # Micro-batches are small; a shuffle never needs more than the cores.
        "spark.sql.shuffle.partitions": "2",
        # State of the windowed trade metrics (binance_cdc/stream/trade_minutes.py) lives
        # on local disk, not in the heap: its size follows the trades within the watermark.
        "spark.sql.streaming.stateStore.providerClass":
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
    }.items():
        session.conf.set(key, value)
    session.sparkContext.setLogLevel(settings.spark.log_level)
    jvm = session.sparkContext._jvm  # noqa: SLF001 - log4j is only reachable through py4j
    error = jvm.org.apache.logging.log4j.Level.ERROR
    for name in QUIET_LOGGERS:
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, error)


def topic_of(settings: Settings, dataset: Dataset) -> str:
    return f"{settings.kafka.topic_prefix}.{settings.postgres.schema_name}.{dataset.name}"


def query_name(settings: Settings, dataset: Dataset) -> str:
    return f"{settings.spark.query_name}.{dataset.name}"


def kafka_records(session: SparkSession, settings: Settings, dataset: Dataset) -> DataFrame:
    """The change records of ``dataset``'s topic, as a streaming DataFrame."""
    spark = settings.spark
    return (
        session.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap_servers)
        # A pattern, not `subscribe`: a topic Debezium has not created yet is
        # simply not there (subscribing by name could auto-create it with the
        # broker's default partitions before Debezium creates it with its own).
        .option("subscribePattern", re.escape(topic_of(settings, dataset)))
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(spark.max_offsets_per_trigger))
        # A table's topic appears with its first change; find it within seconds.
        .option("kafka.metadata.max.age.ms", "5000")
        # Offsets that retention deleted before the stream applied them are lost
        # changes: fail loudly (status shows it) instead of skipping them.
        .option("failOnDataLoss", "true")
        .load()
    )


def start_query(session: SparkSession, settings: Settings, dataset: Dataset,
                applier: BatchApplier) -> StreamingQuery:
    spark = settings.spark
    return (
        kafka_records(session, settings, dataset).writeStream.queryName(query_name(settings, dataset))
        .option("checkpointLocation", str(spark.checkpoint_dir / dataset.name))
        .trigger(processingTime=f"{spark.trigger_seconds} seconds")
        .foreachBatch(applier)
        .start()
    )


def require_jars(session: SparkSession | None, command: str) -> None:
    """Fail with the exact command to use unless the connector jars reach the driver."""
    missing = missing_from_launch_conf() if session is None else missing_jars(session)
    if missing:
        raise StreamError(
            f"spark-submit was started without {' and '.join(missing)} on the driver's "
            f"classpath. Start the stream with:\n  {command}\n(or `binance-cdc stream`, "
            "which runs that command; `make setup` writes the properties file)")


def stop_all(session: Any) -> None:
    for active in session.streams.active:
        try:
            active.stop()
        except Exception as exc:  # noqa: BLE001 - stopping is best effort at shutdown
            log.debug("stopping %s: %s", active.name, exc)
