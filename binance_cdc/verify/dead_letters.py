"""Records the stream could not apply, looked up by the key of a Postgres row.

The stream writes every change it cannot apply to Cassandra's ``dead_letters``
with its Kafka key as text (Debezium's JSON, ``{"symbol":"X","trade_id":1}``).
A Postgres row Cassandra cannot hold (NaN, ±Infinity) is then not a lost
change but one held there; verify says so instead of reporting a difference.
The table is small, so it is read whole, once, and only when a row needs it.
Only columns of every version of the table are read (topic, partition,
offset, record_key, record_value, error).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from binance_cdc.kafka.envelope import unwrap
from binance_cdc.verify.canonical import json_key_value, quote
from binance_cdc.verify.spec import TableSpec

if TYPE_CHECKING:
    from cassandra.cluster import Session

log = logging.getLogger(__name__)

TABLE = "dead_letters"
VALUE_CHARS = 500


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int | None
    offset: int | None
    error: str | None
    value: str | None
    """The record's value text, cut to VALUE_CHARS."""

    def describe(self) -> str:
        return (f"held in dead letters ({self.topic} partition {self.partition} offset "
                f"{self.offset}): {self.error}")


class DeadLetters:
    """Dead letters by (table, canonical key)."""

    def __init__(self, letters: dict[tuple[str, tuple[bytes, ...]], DeadLetter]) -> None:
        self.letters = letters

    def find(self, table: str, key: tuple[bytes, ...]) -> DeadLetter | None:
        return self.letters.get((table, key))

    @classmethod
    def load(cls, session: Session, keyspace: str, topics: dict[str, TableSpec]) -> DeadLetters:
        """Read every dead letter of ``topics`` (topic -> the table it feeds)."""
        from cassandra import DriverException, InvalidRequest
        from cassandra.query import SimpleStatement

        statement = SimpleStatement(
            f"SELECT topic, partition, offset, record_key, record_value, error "
            f"FROM {quote(keyspace)}.{quote(TABLE)}", fetch_size=1000)
        letters: dict[tuple[str, tuple[bytes, ...]], DeadLetter] = {}
        try:
            rows = list(session.execute(statement))
        except InvalidRequest as exc:
            log.warning("no dead letters to explain differences with: %s", exc)
            return cls(letters)
        except DriverException as exc:
            log.warning("cannot read %s.%s: %s", keyspace, TABLE, exc)
            return cls(letters)
        for row in rows:
            spec = topics.get(row.topic)
            key = None if spec is None else parse_key(row.record_key, spec)
            if key is not None:
                value = row.record_value
                letters[(spec.name, key)] = DeadLetter(  # type: ignore[union-attr]
                    row.topic, row.partition, row.offset, row.error,
                    None if value is None else value[:VALUE_CHARS])
        return cls(letters)


def parse_key(record_key: str | None, spec: TableSpec) -> tuple[bytes, ...] | None:
    """The canonical key of a Debezium JSON record key, or None if it is not one of ``spec``'s."""
    if not record_key:
        return None
    try:
        data = json.loads(record_key)
    except ValueError:
        return None
    data = unwrap(data)  # a key written with its schema
    if not isinstance(data, dict) or not all(k in data for k in spec.key):
        return None
    try:
        return tuple(json_key_value(data[k], spec.kind(k)) for k in spec.key)
    except (ValueError, TypeError):
        return None
