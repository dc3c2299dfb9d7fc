"""One canonical text per value, produced by Postgres in SQL and by us from Cassandra's bytes.

Both sides must spell an equal value identically, so that a row hashes alike on
both sides (compare per bucket, fetch rows only where buckets differ). Each
column is reduced by its kind (binance_cdc/datasets.py; ``date`` occurs in
query tables only):

=========  ==============================  ==================================  ==========
kind       Postgres (SQL)                  Cassandra (CQL, then Python)        e.g.
=========  ==============================  ==================================  ==========
text       the text                        textAsBlob(c)                       BTCUSDT
bigint     c::text                         cast(c as text)                     42
decimal    trim_scale(c)::text             cast(c as text), trailing zeros     1.5
                                           stripped here (1.50 == 1.5); Java's
                                           1E-8 form made plain
timestamp  epoch milliseconds, floored     cast(cast(c as bigint) as text)     1714564800123
           (Cassandra keeps ms; Postgres
           µs); 'infinity' stays text
boolean    c::text                         cast(c as text)                     true
date       c::text (ISO)                   cast(c as text)                     2024-05-01
=========  ==============================  ==================================  ==========

Columns are joined with ``\\x1f``; NULL is :data:`NULL` (Postgres' concat_ws
would skip it). A row's hash is the first 8 bytes of md5 of that text: md5 is
the one hash both Postgres and Python compute in C.

Postgres values Cassandra cannot hold keep a text of their own ('NaN',
'Infinity', 'infinity'): such a row never matches, and :func:`unrepresentable`
names it so verify can look for it in dead_letters instead of failing on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Literal

Kind = Literal["text", "decimal", "bigint", "int", "boolean", "timestamp", "date"]

SEPARATOR = b"\x1f"
NULL = b"\x1eNULL\x1e"
"""Stands for NULL in a row's text; no value of any kind is spelled like it."""

NON_FINITE = frozenset({b"NaN", b"Infinity", b"-Infinity", b"infinity", b"-infinity"})
"""Canonical texts only Postgres can produce: numeric NaN/±Infinity, timestamptz ±infinity."""

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_ONE_MS = dt.timedelta(milliseconds=1)


def quote(identifier: str) -> str:
    """A double-quoted identifier, valid in SQL and CQL alike."""
    return '"' + identifier.replace('"', '""') + '"'


# --- Postgres -------------------------------------------------------------------------------

def sql_text(column: str, kind: Kind, *, nullable: bool = False) -> str:
    """SQL for the canonical text of ``column``."""
    c = quote(column)
    expr = {
        "text": c,
        "decimal": f"trim_scale({c})::text",
        "bigint": f"{c}::text",
        "int": f"{c}::text",
        "boolean": f"{c}::text",
        "date": f"to_char({c}, 'YYYY-MM-DD')",
        "timestamp": (f"CASE WHEN isfinite({c}) THEN floor(extract(epoch FROM {c}) * 1000)"
                      f"::bigint::text ELSE {c}::text END"),
    }[kind]
    return f"coalesce({expr}, {sql_literal(NULL)})" if nullable else expr


def sql_literal(value: bytes) -> str:
    """A bytes value as an SQL text literal (E'' with \\x escapes for control characters)."""
    return "E'" + "".join(f"\\x{b:02x}" if b < 0x20 or b in (0x27, 0x5c) else chr(b)
                          for b in value) + "'"


def sql_row_text(exprs: list[str]) -> str:
    return f"concat_ws({sql_literal(SEPARATOR)}, {', '.join(exprs)})"


def sql_hash64(text_expr: str) -> str:
    """SQL for the row hash as a signed bigint (the first 8 bytes of md5)."""
    return f"('x' || substr(md5({text_expr}), 1, 16))::bit(64)::bigint"


# --- Cassandra ------------------------------------------------------------------------------

def cql_selector(column: str, kind: Kind) -> str:
    """CQL that returns the column as bytes of text, close to canonical (see module doc)."""
    c = quote(column)
    if kind == "text":
        return f"textAsBlob({c})"
    if kind == "timestamp":
        return f"textAsBlob(cast(cast({c} AS bigint) AS text))"
    return f"textAsBlob(cast({c} AS text))"


def cassandra_decimal(text: bytes) -> bytes:
    """Java's BigDecimal.toString() -> canonical decimal: 65000.10000000 -> 65000.1."""
    if b"E" in text:  # 1E-8, 0E-8, 1E+2: rare, so the slow exact path is fine
        return canonical_decimal(Decimal(text.decode())).encode()
    if b"." in text:
        return text.rstrip(b"0").rstrip(b".")
    return text


# --- Python values (query tables are derived in Python) -------------------------------------

def canonical_decimal(value: Decimal) -> str:
    """The value without trailing zeros, in plain notation: what Postgres' trim_scale() prints."""
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("-Infinity" if value.is_signed() else "Infinity")
    if value.is_zero():
        return "0"
    # A context exactly as precise as the value: normalize() strips zeros but never rounds.
    digits = len(value.as_tuple().digits)
    return format(value.normalize(Context(prec=max(digits, 1))), "f")


def epoch_ms(value: dt.datetime) -> int:
    """Milliseconds since the epoch, floored; a naive datetime is UTC (the driver's)."""
    epoch = _EPOCH_NAIVE if value.tzinfo is None else _EPOCH
    return (value - epoch) // _ONE_MS


_BY_TYPE: dict[type, Callable[[Any], bytes]] = {
    bytes: lambda v: v,
    type(None): lambda v: NULL,
    bool: lambda v: b"true" if v else b"false",
    int: lambda v: str(v).encode(),
    Decimal: lambda v: canonical_decimal(v).encode(),
    dt.datetime: lambda v: str(epoch_ms(v)).encode(),
    dt.date: lambda v: v.isoformat().encode(),
    str: str.encode,
}


def canonical_value(value: object) -> bytes:
    """The canonical text of a Python value, by its type (the derived side of query tables).

    ``bytes`` are taken to be canonical already (a column copied unchanged).
    """
    convert = _BY_TYPE.get(type(value))
    if convert is None:  # a subclass: the first base we know
        convert = next((f for t, f in _BY_TYPE.items() if isinstance(value, t)), None)
        if convert is None:
            raise TypeError(f"cannot compare a value of type {type(value).__name__}: {value!r}")
    return convert(value)


def _timestamp(text: bytes) -> dt.datetime:
    return _EPOCH + int(text) * _ONE_MS


DECODERS: dict[Kind, Callable[[bytes], object]] = {
    "text": bytes.decode, "decimal": lambda b: Decimal(b.decode()), "bigint": int, "int": int,
    "boolean": lambda b: b == b"true", "timestamp": _timestamp,
    "date": lambda b: dt.date.fromisoformat(b.decode()),
}
"""Canonical text -> the Python value the stream would hold (timestamps aware, in UTC)."""


def decode(text: bytes, kind: Kind) -> object:
    return None if text == NULL else DECODERS[kind](text)


def display(text: bytes, kind: Kind) -> str | None:
    """A canonical value for people: timestamps as ISO-8601 UTC, NULL as None."""
    if text == NULL:
        return None
    if kind == "timestamp" and text not in NON_FINITE:
        try:
            moment = _timestamp(text)
        except (ValueError, OverflowError):
            return text.decode(errors="replace")
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.decode(errors="replace")


def unrepresentable(parts: tuple[bytes, ...]) -> bool:
    """Whether a Postgres row holds a value Cassandra cannot store (NaN, ±Infinity)."""
    return any(p in NON_FINITE for p in parts)


def json_key_value(value: object, kind: Kind) -> bytes:
    """The canonical text of a key value as Debezium writes it in a JSON record key."""
    if value is None:
        return NULL
    if kind == "timestamp" and isinstance(value, str):
        if value.lower().lstrip("+-") == "infinity":
            return value.lower().lstrip("+").encode()
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return str(epoch_ms(moment)).encode()
    if kind == "decimal":
        try:
            return canonical_decimal(Decimal(str(value))).encode()
        except InvalidOperation:
            return str(value).encode()
    if kind == "boolean":
        return b"true" if value in (True, "true") else b"false"
    return str(value).encode()
