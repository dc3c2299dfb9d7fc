"""What `status` reads to tell how close the stream is to Kafka's retention, on a real
topic: its retention.ms, the earliest offset retention left, the time of a record."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from binance_cdc.kafka.client import reader, record_times_ms, retention_ms, watermarks
from binance_cdc.observe.checkpoint import records_lost
from binance_cdc.settings import Settings

pytestmark = pytest.mark.kafka


@pytest.fixture
def topic(settings: Settings, unique_name: str) -> Iterator[str]:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    name = f"retention.{unique_name}"
    admin.create_topics([NewTopic(name, 1, 1, config={"retention.ms": "3600000"})])[name].result(30)
    try:
        yield name
    finally:
        admin.delete_topics([name])[name].result(30)


def test_retention_earliest_offset_and_record_times(settings: Settings, topic: str) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    before_ms = int(time.time() * 1000)
    for i in range(3):
        producer.produce(topic, value=str(i).encode())
    assert producer.flush(30) == 0
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    # As retention would: the first record is gone.
    for future in admin.delete_records([TopicPartition(topic, 0, 1)]).values():
        future.result(30)

    assert retention_ms(settings.kafka, [topic]) == {topic: 3_600_000}
    consumer = reader(settings.kafka)
    try:
        marks = watermarks(consumer, settings.kafka, {topic: [0]})[topic]
        times = record_times_ms(consumer, {(topic, 0): 1})
    finally:
        consumer.close()
    assert marks == {0: (1, 3)}
    assert records_lost(marks, {0: 0}) == 1  # a checkpoint still at offset 0 lost a record
    assert records_lost(marks, {0: 1}) == 0
    assert before_ms - 1000 <= times[(topic, 0)] <= int(time.time() * 1000)
