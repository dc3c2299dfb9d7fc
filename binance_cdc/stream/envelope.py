"""Debezium change envelope -> what to do in Cassandra. Pure functions, no I/O.

Each Kafka record becomes exactly one of:

* :class:`Change` — an upsert (ops ``c``, ``r``, ``u``) or a delete (``d``) of
  one row of a declared dataset, with its write timestamp (the change's LSN);
* :class:`Skip` — a tombstone, a heartbeat or another record that carries no
  row change and needs nothing done;
* :class:`BadRecord` raised — the record cannot be applied; the caller sends
  it to the dead-letter table and goes on.

Row values are typed from binance_cdc/datasets.py, so the envelope schema of
every table comes from the one declaration. Columns the declaration does not
know (a column added in Postgres later) are ignored here and reported in
``Change.unknown_columns`` so the stream survives schema changes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from binance_cdc.datasets import DATASETS, Dataset, Kind

UPSERT_OPS = frozenset({"c", "r", "u"})
# Debezium's helper tables in the publication (heartbeats, snapshot signals):
# their changes reach Kafka but are not market data.
HELPER_TABLES = frozenset({"debezium_heartbeat", "debezium_signal"})
# Incremental-snapshot reads carry no LSN: the row was read by a query, not
# decoded from the WAL, so nothing orders it against the stream's changes.
# They are written "fill-only", below every change: they restore rows that are
# missing in Cassandra and never overwrite a state the stream already wrote.
FILL_ONLY_TIMESTAMP = 0
DELETE_OP = "d"
# Debezium's own topics that may match a broad subscription.
SYSTEM_TOPIC_PREFIXES = ("__debezium-heartbeat", "__debezium", "_connect")


class BadRecord(ValueError):
    """A record that cannot be applied; the message says what is wrong with it."""


@dataclass(frozen=True)
class Skip:
    reason: Literal["tombstone", "heartbeat", "not-a-row-change", "helper-table"]


@dataclass(frozen=True)
class Change:
    dataset: Dataset
    op: Literal["upsert", "delete"]
    source_op: str
    key: dict[str, Any]
    """Primary-key values (typed)."""
    row: dict[str, Any] | None
    """Every declared column (typed) for an upsert; None for a delete."""
    before: dict[str, Any] | None
    """The before-image, typed, where Postgres sent one (REPLICA IDENTITY FULL)."""
    lsn: int
    """WAL position of the change: monotonic per key, so it is the write timestamp."""
    source_ts_ms: int
    unknown_columns: tuple[str, ...] = field(default=())


def table_of(topic: str, prefix: str, schema: str) -> str | None:
    """``binance.binance.klines`` -> ``klines``; None if the topic is not a table topic."""
    head = f"{prefix}.{schema}."
    return topic[len(head):] if topic.startswith(head) else None


def parse_record(topic: str, key: bytes | None, value: bytes | None, *,
                 prefix: str, schema: str) -> Change | Skip:
    """Turn one Kafka record into a :class:`Change` or :class:`Skip`; raise BadRecord."""
    if topic.startswith(SYSTEM_TOPIC_PREFIXES):
        return Skip("heartbeat")
    if value is None or len(value) == 0:
        return Skip("tombstone")
    table = table_of(topic, prefix, schema)
    if table in HELPER_TABLES:
        return Skip("helper-table")
    if table is None or table not in DATASETS:
        raise BadRecord(f"topic {topic!r} is not a table of {prefix}.{schema} this stream knows "
                        f"({', '.join(DATASETS)})")
    dataset = DATASETS[table]
    envelope = _json_object(value, "value")
    op = envelope.get("op")
    if op is None and "ts_ms" in envelope and "source" not in envelope:
        return Skip("heartbeat")
    if op == "m":
        return Skip("not-a-row-change")
    if op not in UPSERT_OPS and op != DELETE_OP:
        raise BadRecord(f"unsupported op {op!r} (expected c, r, u or d)")
    source = envelope.get("source")
    if not isinstance(source, dict):
        raise BadRecord("envelope has no source block")
    if source.get("table") not in (None, table):
        raise BadRecord(f"source.table {source.get('table')!r} does not match topic {topic!r}")
    if source.get("lsn") is None and op == "r" and source.get("snapshot") == "incremental":
        lsn = FILL_ONLY_TIMESTAMP
    else:
        lsn = _int(source.get("lsn"), "source.lsn")
    ts_ms = _int(source.get("ts_ms"), "source.ts_ms")

    before = _typed_row(dataset, envelope.get("before"), "before", partial=True)
    if op == DELETE_OP:
        raw_key = _json_object(key, "key") if key else envelope.get("before")
        typed_key = _typed_key(dataset, raw_key, "key")
        return Change(dataset, "delete", op, typed_key, None, before, lsn, ts_ms)

    after = envelope.get("after")
    if not isinstance(after, dict):
        raise BadRecord(f"op {op!r} without an after image")
    row = _typed_row(dataset, after, "after", partial=False)
    unknown = tuple(sorted(set(after) - set(dataset.column_names)))
    typed_key = {k: row[k] for k in dataset.primary_key}
    return Change(dataset, "upsert", op, typed_key, row, before, lsn, ts_ms, unknown)


def _json_object(raw: bytes, what: str) -> dict:
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRecord(f"record {what} is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise BadRecord(f"record {what} is JSON but not an object")
    return parsed


def _typed_key(dataset: Dataset, raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRecord(f"{where} is missing, cannot find the row to delete")
    return {name: convert(dataset.column(name).kind, raw.get(name), f"{where}.{name}")
            for name in dataset.primary_key}


def _typed_row(dataset: Dataset, raw: object, where: str, *, partial: bool) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRecord(f"{where} is not an object")
    row = {}
    for column in dataset.columns:
        if column.name not in raw:
            if partial:
                continue
            raise BadRecord(f"{where}.{column.name} is missing")
        value = raw[column.name]
        if value is None and column.nullable:
            row[column.name] = None
        else:
            row[column.name] = convert(column.kind, value, f"{where}.{column.name}")
    return row


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"{where} is {value!r}, expected an integer")
    return value


def convert(kind: Kind, value: object, where: str) -> Any:
    """A Debezium JSON value (our connector config) -> the Python value Cassandra takes."""
    if value is None:
        raise BadRecord(f"{where} is null")
    if kind == "text":
        if not isinstance(value, str):
            raise BadRecord(f"{where} is {value!r}, expected a string")
        return value
    if kind == "decimal":
        if not isinstance(value, str):
            raise BadRecord(f"{where} is {value!r}, expected a decimal string "
                            "(decimal.handling.mode=string)")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise BadRecord(f"{where} is {value!r}, not a decimal") from None
        if not number.is_finite():
            raise BadRecord(f"{where} is {value!r}; Cassandra decimals must be finite")
        return number
    if kind in ("bigint", "int"):
        return _int(value, where)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise BadRecord(f"{where} is {value!r}, expected true or false")
        return value
    if kind == "timestamp":
        if not isinstance(value, str):
            raise BadRecord(f"{where} is {value!r}, expected an ISO-8601 timestamp")
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadRecord(f"{where} is {value!r}, not an ISO-8601 timestamp") from None
        if parsed.tzinfo is None:
            raise BadRecord(f"{where} is {value!r}, expected a time zone")
        return parsed.astimezone(dt.timezone.utc)
    raise BadRecord(f"{where}: unknown column kind {kind!r}")
