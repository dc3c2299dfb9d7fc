"""Turn a row from either side into the same canonical key and hash.

Postgres and Cassandra hand back the same logical value in different shapes,
so each value is reduced to a canonical string by its declared kind
(binance_cdc/datasets.py), never by its Python type:

=========  ==============================================================
kind       canonical form
=========  ==============================================================
text       the string itself, exact
decimal    the number with trailing zeros stripped: 1.10 and 1.1 are the
           same value (compared numerically, not by their scale), 0E-8 is 0
bigint     the integer in base 10
int        the integer in base 10
boolean    "t" or "f"
timestamp  epoch MILLISECONDS (floor): Cassandra keeps milliseconds, Postgres
           keeps microseconds, so Postgres values are truncated to the ms
=========  ==============================================================

A NULL is its own marker, distinct from the empty string. The row hash covers
the dataset's columns only, never the replica's meta columns (source_lsn,
source_ts, written_at), which exist on one side alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from decimal import Context, Decimal

from binance_cdc.datasets import Dataset, Kind

Key = tuple[str | None, ...]
"""A row's primary key, as canonical strings in primary-key order."""

_EPOCH_AWARE = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_ONE_MS = dt.timedelta(milliseconds=1)
_NULL = "\x00"
_SEPARATOR = "\x1f"


def canonical_decimal(value: Decimal) -> str:
    """The value with trailing zeros stripped, in plain notation (no exponent)."""
    if not value.is_finite():
        return str(value)  # NaN / Infinity: only Postgres can hold them; they compare as text
    if value.is_zero():
        return "0"
    digits = len(value.as_tuple().digits)
    # A context exactly as precise as the value: normalize() strips zeros but never rounds
    # (the default 28-digit context would round wider Postgres numerics).
    return format(value.normalize(Context(prec=max(digits, 1))), "f")


def epoch_ms(value: dt.datetime) -> int:
    """Milliseconds since the epoch, floored; a naive datetime is taken as UTC (the driver's)."""
    epoch = _EPOCH_NAIVE if value.tzinfo is None else _EPOCH_AWARE
    return (value - epoch) // _ONE_MS


def _text(value: object) -> str:
    return str(value)


def _decimal(value: object) -> str:
    return canonical_decimal(value if isinstance(value, Decimal) else Decimal(str(value)))


def _integer(value: object) -> str:
    return str(int(value))  # type: ignore[call-overload]


def _boolean(value: object) -> str:
    return "t" if value else "f"


def _timestamp(value: object) -> str:
    return str(epoch_ms(value))  # type: ignore[arg-type]


CANONICAL: dict[Kind, Callable[[object], str]] = {
    "text": _text, "decimal": _decimal, "bigint": _integer, "int": _integer,
    "boolean": _boolean, "timestamp": _timestamp,
}


class RowCodec:
    """Canonical key and hash of a dataset's rows (values in the dataset's column order)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._converters = [CANONICAL[c.kind] for c in dataset.columns]
        self._key_positions = [dataset.column_names.index(k) for k in dataset.primary_key]

    def canonical(self, values: Sequence[object]) -> list[str | None]:
        return [None if v is None else convert(v)
                for convert, v in zip(self._converters, values, strict=True)]

    def key_and_hash(self, values: Sequence[object]) -> tuple[Key, bytes]:
        """(canonical key, 16-byte digest of every column) of one row."""
        canonical = self.canonical(values)
        key = tuple(canonical[i] for i in self._key_positions)
        joined = _SEPARATOR.join(_NULL if v is None else v for v in canonical)
        return key, hashlib.blake2b(joined.encode(), digest_size=16).digest()

    def display_key(self, key: Key) -> dict[str, str | None]:
        """A key for people: column name -> value, timestamps as ISO-8601 UTC."""
        shown: dict[str, str | None] = {}
        for name, value in zip(self.dataset.primary_key, key, strict=True):
            if value is not None and self.dataset.column(name).kind == "timestamp":
                moment = _EPOCH_AWARE + int(value) * _ONE_MS
                value = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            shown[name] = value
        return shown
