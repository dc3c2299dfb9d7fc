"""Debezium change events as records on a topic (pure: no broker needed).

The envelope's shape and meaning are declared in binance_cdc/kafka/envelope.py
(which the stream's Spark decoding uses too); the ``{"schema", "payload"}`` form
a worker with schemas enabled writes is unwrapped. A tombstone (null value)
follows every delete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from binance_cdc.kafka.envelope import Action, action_of, unwrap, write_timestamp


@dataclass(frozen=True)
class ChangeEvent:
    """One record of a change topic, decoded."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    """The Kafka record timestamp (Connect's producer sets it when it sends the event)."""
    key: Any
    value: Any
    """The envelope, None for a tombstone, or the raw text of a value that is not JSON."""

    @property
    def is_envelope(self) -> bool:
        return isinstance(self.value, dict) and "op" in self.value

    @property
    def op(self) -> str | None:
        """c(reate), u(pdate), d(elete), r(ead by a snapshot), t(runcate); None otherwise."""
        return self.value["op"] if self.is_envelope else None

    @property
    def action(self) -> Action | None:
        """upsert, delete or skip (tombstone, heartbeat, message); None: not an envelope."""
        return action_of(self.value) if self.value is None or isinstance(self.value, dict) \
            else None

    @property
    def write_timestamp(self) -> int | None:
        """The LSN the stream writes this change with (0 for incremental-snapshot reads)."""
        return write_timestamp(self.value) if self.is_envelope else None

    @property
    def source(self) -> dict[str, Any]:
        return (self.value.get("source") or {}) if self.is_envelope else {}

    @property
    def source_ts_ms(self) -> int | None:
        """Commit time in Postgres (ms)."""
        return self.source.get("ts_ms")

    @property
    def source_lsn(self) -> int | None:
        return self.source.get("lsn")

    def summary(self) -> dict[str, Any]:
        """The one-line form `binance-cdc consume` prints."""
        line: dict[str, Any] = {"topic": self.topic, "partition": self.partition,
                                "offset": self.offset, "timestamp_ms": self.timestamp_ms,
                                "key": self.key}
        if self.value is None:
            line["op"] = None
            line["tombstone"] = True
        elif self.is_envelope:
            source = self.source
            line.update(op=self.op, before=self.value.get("before"), after=self.value.get("after"),
                        source={"lsn": source.get("lsn"), "ts_ms": source.get("ts_ms"),
                                "txId": source.get("txId"), "table": source.get("table"),
                                "snapshot": source.get("snapshot")})
        else:
            line["value"] = self.value
        return line


def _decode(raw: bytes | None) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return unwrap(decoded)


def decode_record(topic: str, partition: int, offset: int, timestamp_ms: int | None,
                  key: bytes | None, value: bytes | None) -> ChangeEvent:
    """A Kafka record's parts as a :class:`ChangeEvent`."""
    return ChangeEvent(topic, partition, offset, timestamp_ms, _decode(key), _decode(value))
