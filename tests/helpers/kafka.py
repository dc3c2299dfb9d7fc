"""Read change events from Kafka in tests, starting at a known position."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition


@dataclass
class Event:
    topic: str
    partition: int
    offset: int
    key: dict | None
    value: dict | None
    """None for a tombstone."""
    timestamp_ms: int

    @property
    def op(self) -> str | None:
        return None if self.value is None else self.value["op"]


def end_offsets(bootstrap: str, topics: list[str]) -> dict[str, dict[int, int]]:
    """Current end offset per partition; topics that do not exist yet start at 0."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4()}"})
    try:
        metadata = consumer.list_topics(timeout=10)
        result: dict[str, dict[int, int]] = {}
        for topic in topics:
            partitions = metadata.topics.get(topic)
            if partitions is None or partitions.error is not None:
                result[topic] = {}
                continue
            result[topic] = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                             for p in partitions.partitions}
        return result
    finally:
        consumer.close()


def read_events(bootstrap: str, topics: list[str], *, until: Callable[[list[Event]], bool],
                start: dict[str, dict[int, int]] | None = None,
                match: Callable[[Event], bool] = lambda e: True,
                timeout_s: float = 60.0) -> list[Event]:
    """Events from ``start`` (default: the beginning) that ``match``, until ``until`` holds."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "topic.metadata.refresh.interval.ms": 1000})
    events: list[Event] = []
    assigned: set[str] = set()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            _assign_new(consumer, topics, assigned, start or {})
            message = consumer.poll(0.5)
            if message is not None:
                if message.error():
                    raise KafkaException(message.error())
                raw_value = message.value()
                event = Event(message.topic(), message.partition(), message.offset(),
                              json.loads(message.key()) if message.key() else None,
                              json.loads(raw_value) if raw_value else None,
                              message.timestamp()[1])
                if match(event):
                    events.append(event)
            if until(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s}s with {len(events)} events: "
                                     f"{[(e.op, e.key) for e in events][:20]}")
    finally:
        consumer.close()


def _assign_new(consumer: Consumer, topics: list[str], assigned: set[str],
                start: dict[str, dict[int, int]]) -> None:
    missing = [t for t in topics if t not in assigned]
    if not missing:
        return
    metadata = consumer.list_topics(timeout=5)
    partitions = []
    for topic in missing:
        info = metadata.topics.get(topic)
        if info is None or info.error is not None or not info.partitions:
            continue
        assigned.add(topic)
        for p in info.partitions:
            offset = start.get(topic, {}).get(p, OFFSET_BEGINNING)
            partitions.append(TopicPartition(topic, p, offset))
    if partitions:
        consumer.incremental_assign(partitions)
