"""Consumers for reading, never for committing: every failure becomes a BrokerError here."""

from __future__ import annotations

import fnmatch
import uuid
from typing import Any

from binance_cdc.errors import BrokerError
from binance_cdc.settings import KafkaSettings

METADATA_TIMEOUT_S = 5.0


def reader(kafka: KafkaSettings, **extra: Any) -> Any:
    """A consumer in a throw-away group that never commits (it only reads what it assigns)."""
    from confluent_kafka import Consumer, KafkaException

    config = {"bootstrap.servers": kafka.bootstrap_servers,
              "group.id": f"binance-cdc-reader-{uuid.uuid4().hex[:8]}",
              "enable.auto.commit": False, "enable.partition.eof": False,
              # librdkafka logs every failed connection attempt; our error says it once.
              "log_level": 2, **extra}
    try:
        return Consumer(config)
    except KafkaException as exc:
        raise BrokerError(f"cannot create a Kafka consumer for {kafka.bootstrap_servers}: "
                          f"{exc}") from exc


def topic_partitions(consumer: Any, kafka: KafkaSettings, pattern: str = "*") -> dict[str, list[int]]:
    """Partitions of every topic whose name matches the glob ``pattern``."""
    from confluent_kafka import KafkaException

    try:
        metadata = consumer.list_topics(timeout=METADATA_TIMEOUT_S)
    except KafkaException as exc:
        raise BrokerError(f"Kafka at {kafka.bootstrap_servers} does not answer ({exc}); is it "
                          "running? (`binance-cdc stack status`)", retryable=True) from exc
    return {name: sorted(topic.partitions) for name, topic in metadata.topics.items()
            if topic.error is None and fnmatch.fnmatchcase(name, pattern)}


def watermarks(consumer: Any, kafka: KafkaSettings,
               topics: dict[str, list[int]]) -> dict[str, dict[int, tuple[int, int]]]:
    """(low, high) offsets of every partition: high is the offset the next record gets."""
    from confluent_kafka import KafkaException, TopicPartition

    result: dict[str, dict[int, tuple[int, int]]] = {}
    try:
        for topic, partitions in topics.items():
            result[topic] = {p: consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=METADATA_TIMEOUT_S) for p in partitions}
    except KafkaException as exc:
        raise BrokerError(f"Kafka at {kafka.bootstrap_servers} did not give the offsets of "
                          f"{topic}: {exc}", retryable=True) from exc
    return result


def end_offsets(kafka: KafkaSettings, pattern: str) -> dict[str, dict[int, int]]:
    """End (high watermark) offset per partition of the topics matching ``pattern``."""
    consumer = reader(kafka)
    try:
        marks = watermarks(consumer, kafka, topic_partitions(consumer, kafka, pattern))
        return {t: {p: high for p, (_, high) in parts.items()} for t, parts in marks.items()}
    finally:
        consumer.close()


def change_topic(kafka: KafkaSettings, schema: str, name: str) -> str:
    """A table name (``latest_prices``) becomes its topic; a topic name stays as it is."""
    return name if "." in name else f"{kafka.topic_prefix}.{schema}.{name}"


def retention_ms(kafka: KafkaSettings, topics: list[str]) -> dict[str, int | None]:
    """retention.ms of each topic (None: kept forever, or not readable)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource

    if not topics:
        return {}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers, "log_level": 2})
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in topics]
    result: dict[str, int | None] = {}
    try:
        for resource, future in admin.describe_configs(resources).items():
            value = future.result(timeout=METADATA_TIMEOUT_S)["retention.ms"].value
            result[resource.name] = None if value is None or int(value) < 0 else int(value)
    except (KafkaException, KeyError, ValueError) as exc:
        raise BrokerError(f"Kafka at {kafka.bootstrap_servers} did not give the topics' "
                          f"retention: {exc}", retryable=True) from exc
    return result


def record_times_ms(consumer: Any, positions: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """The timestamp of the record at each (topic, partition) offset that still holds one."""
    from confluent_kafka import TopicPartition

    times: dict[tuple[str, int], int] = {}
    for (topic, partition), offset in positions.items():
        consumer.assign([TopicPartition(topic, partition, offset)])
        message = consumer.consume(1, timeout=METADATA_TIMEOUT_S)
        if message and message[0].error() is None:
            times[(topic, partition)] = message[0].timestamp()[1]
    consumer.unassign()
    return times
