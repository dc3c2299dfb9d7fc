"""Read change events from a topic: from its end (new events) or its beginning."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator

from binance_cdc.errors import BrokerError
from binance_cdc.kafka.client import reader, topic_partitions, watermarks
from binance_cdc.kafka.events import ChangeEvent, decode_record
from binance_cdc.settings import KafkaSettings

log = logging.getLogger(__name__)

POLL_S = 0.5


def consume(kafka: KafkaSettings, topic: str, *, from_beginning: bool = False,
            limit: int | None = None, idle_timeout_s: float | None = None,
            start: dict[int, int] | None = None) -> Generator[ChangeEvent, None, None]:
    """Yield the topic's events in order per partition.

    Starts at the end (only events written from now on) unless ``from_beginning``
    or explicit ``start`` offsets per partition. Stops after ``limit`` events, or
    once nothing arrived for ``idle_timeout_s``; otherwise runs until the caller
    stops iterating. Nothing is committed: reading never moves anyone's offsets.
    """
    from confluent_kafka import KafkaException, TopicPartition

    consumer = reader(kafka)
    try:
        partitions = topic_partitions(consumer, kafka, topic).get(topic)
        if not partitions:
            known = sorted(topic_partitions(consumer, kafka, f"{kafka.topic_prefix}.*"))
            raise BrokerError(f"topic {topic!r} does not exist on {kafka.bootstrap_servers}; "
                              f"change topics are: {', '.join(known) or 'none yet'}")
        marks = watermarks(consumer, kafka, {topic: partitions})[topic]
        # Numeric offsets, resolved now: a symbolic "end" would be resolved later, and
        # events written in between would be skipped.
        offsets = {p: (start or {}).get(p, low if from_beginning else high)
                   for p, (low, high) in marks.items()}
        consumer.assign([TopicPartition(topic, p, o) for p, o in offsets.items()])
        log.info("reading %s from offsets %s", topic,
                 ", ".join(f"{p}:{o}" for p, o in sorted(offsets.items())))
        yield from _poll(consumer, limit, idle_timeout_s)
    except KafkaException as exc:
        raise BrokerError(f"reading {topic} failed: {exc}", retryable=True) from exc
    finally:
        consumer.close()


def _poll(consumer: object, limit: int | None,
          idle_timeout_s: float | None) -> Iterator[ChangeEvent]:
    from confluent_kafka import KafkaException

    count = 0
    last_seen = time.monotonic()
    while limit is None or count < limit:
        message = consumer.poll(POLL_S)  # type: ignore[attr-defined]
        if message is None:
            if idle_timeout_s is not None and time.monotonic() - last_seen > idle_timeout_s:
                log.info("nothing new for %.0fs; stopping after %d events", idle_timeout_s, count)
                return
            continue
        if message.error():
            raise KafkaException(message.error())
        last_seen = time.monotonic()
        count += 1
        kind, stamp = message.timestamp()
        yield decode_record(message.topic(), message.partition(), message.offset(),
                            stamp if kind else None, message.key(), message.value())
