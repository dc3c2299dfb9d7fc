"""The dead_letters table: records the stream could not apply, to list, replay or purge.

A dead letter is replayed by producing its record (as stored, or as corrected
by the user) to the topic it came from, with its key; the stream then applies
it like any change (its LSN still orders it against newer changes) or, if it is
still wrong, writes a new dead letter at its new offset. The replayed row is
removed from dead_letters once Kafka has the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from binance_cdc.errors import ConfigError
from binance_cdc.settings import CassandraSettings
from binance_cdc.sink.connection import cassandra_session

COLUMNS = ("topic", "day", "partition", "offset", "record_key", "record_value", "value_bytes",
           "error", "recorded_at")


@dataclass(frozen=True)
class StoredLetter:
    topic: str
    day: dt.date
    partition: int
    offset: int
    record_key: str | None
    record_value: str | None
    value_bytes: int | None
    error: str
    recorded_at: dt.datetime | None

    @property
    def truncated(self) -> bool:
        """True if record_value is not the whole record (it cannot be replayed as stored)."""
        stored = len((self.record_value or "").encode())
        return self.value_bytes is not None and stored < self.value_bytes

    @property
    def position(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "day": self.day.isoformat(), "partition": self.partition,
                "offset": self.offset, "key": self.record_key, "value_bytes": self.value_bytes,
                "truncated": self.truncated, "error": self.error,
                "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None}


def letters(cass: CassandraSettings, *, topic: str | None = None, partition: int | None = None,
            offset: int | None = None) -> Iterator[StoredLetter]:
    """Every dead letter (the table is small: a full scan), optionally of one record or topic."""
    with cassandra_session(cass, keyspace=cass.keyspace, timeout_s=10) as session:
        for row in session.execute(f"SELECT {', '.join(COLUMNS)} FROM dead_letters",
                                   timeout=60):
            values = list(row)
            # The driver returns its own Date type for a CQL date.
            values[1] = values[1].date() if hasattr(values[1], "date") else values[1]
            letter = StoredLetter(*values)
            if topic is not None and letter.topic != topic:
                continue
            if partition is not None and letter.partition != partition:
                continue
            if offset is not None and letter.offset != offset:
                continue
            yield letter


def remove(cass: CassandraSettings, found: list[StoredLetter]) -> int:
    with cassandra_session(cass, keyspace=cass.keyspace, timeout_s=10) as session:
        for letter in found:
            session.execute("DELETE FROM dead_letters WHERE topic = %s AND day = %s AND "
                            "partition = %s AND offset = %s",
                            (letter.topic, letter.day, letter.partition, letter.offset))
    return len(found)


def replayable_value(letter: StoredLetter, corrected: str | None) -> str:
    """The value to produce again: the correction if given, else the stored record."""
    if corrected is not None:
        return corrected
    if letter.truncated:
        raise ConfigError(f"dead letter {letter.position} holds only the first "
                          f"{len(letter.record_value or '')} of its {letter.value_bytes} bytes; "
                          "replay it with --value-file FILE holding the corrected record")
    if letter.record_value is None:
        raise ConfigError(f"dead letter {letter.position} has no value to replay")
    return letter.record_value
