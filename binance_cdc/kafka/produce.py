"""Put a record on a topic (dead-letter replay); every failure becomes a BrokerError here."""

from __future__ import annotations

from binance_cdc.errors import BrokerError
from binance_cdc.settings import KafkaSettings

FLUSH_TIMEOUT_S = 30.0


def produce(kafka: KafkaSettings, topic: str, key: bytes | None, value: bytes) -> tuple[int, int]:
    """Send one record and wait for the broker's acknowledgement; return (partition, offset)."""
    from confluent_kafka import KafkaException, Producer

    delivered: list = []
    try:
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all",
                             "enable.idempotence": True, "log_level": 2})
        producer.produce(topic, key=key, value=value,
                         on_delivery=lambda err, msg: delivered.append((err, msg)))
        producer.flush(FLUSH_TIMEOUT_S)
    except (KafkaException, BufferError) as exc:
        raise BrokerError(f"cannot send the record to {topic} at {kafka.bootstrap_servers}: "
                          f"{exc}", retryable=True) from exc
    if not delivered:
        raise BrokerError(f"Kafka at {kafka.bootstrap_servers} did not acknowledge the record "
                          f"for {topic} within {FLUSH_TIMEOUT_S:.0f}s; is it running?",
                          retryable=True)
    error, message = delivered[0]
    if error is not None:
        raise BrokerError(f"Kafka refused the record for {topic}: {error}", retryable=True)
    return message.partition(), message.offset()
