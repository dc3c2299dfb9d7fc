"""The Debezium change envelope, declared once: its shape, its ops and what each means.

Every reader of change topics decodes with this module: `consume`, the
benchmarks and the drill through :mod:`binance_cdc.kafka.events` (Python), and
the streaming job through the Spark forms below (:func:`spark_schema`,
:func:`spark_field`), which binance_cdc/stream/decode.py and
binance_cdc/stream/trade_minutes.py build their expressions on, so that the
decoding stays in the JVM.

A record value is the envelope ``{"before", "after", "op", "source", "ts_ms"}``,
or, when the Connect worker embeds schemas, ``{"schema", "payload"}`` with the
envelope as payload; a record key likewise (the primary-key columns, or them
under "payload"). A tombstone (null value) follows every delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pyspark.sql import Column
    from pyspark.sql.types import DataType, StructType

WRAPPER = "payload"
"""Where the envelope (or key) sits when the worker embeds schemas."""
UPSERT_OPS = ("c", "r", "u")
"""Create, read (by a snapshot) and update: the after-image is the row."""
DELETE_OP = "d"
"""The before-image (or the key) names the row that is gone."""
MESSAGE_OP = "m"
"""A logical-decoding message (pg_logical_emit_message): no row change."""
INCREMENTAL_SNAPSHOT = "incremental"
"""``source.snapshot`` of an incremental-snapshot read: it carries no LSN."""
FILL_ONLY_TIMESTAMP = 0
"""The write timestamp of an incremental-snapshot read. The row was read by a query,
not decoded from the WAL, so nothing orders it against the stream's changes: it is
written below every change, restoring a missing row and never overwriting one."""

Action = Literal["upsert", "delete", "skip"]


def unwrap(value: Any) -> Any:
    """A decoded JSON value (envelope or key) without the ``{schema, payload}`` wrapper."""
    if isinstance(value, dict) and isinstance(value.get(WRAPPER), dict) and set(value) <= {
            "schema", WRAPPER}:
        return value[WRAPPER]
    return value


def action_of(envelope: Any) -> Action | None:
    """What a decoded record value asks of a replica: None if it is not a change envelope.

    A tombstone, a heartbeat (no op, a timestamp) and a message are skipped.
    """
    if envelope is None:
        return "skip"
    if not isinstance(envelope, Mapping):
        return None
    op = envelope.get("op")
    if op is None:
        return "skip" if envelope.get("source") is None and envelope.get("ts_ms") is not None \
            else None
    if op in UPSERT_OPS:
        return "upsert"
    if op == DELETE_OP:
        return "delete"
    return "skip" if op == MESSAGE_OP else None


def write_timestamp(envelope: Mapping[str, Any]) -> int | None:
    """The LSN a change is written with (fill-only for incremental-snapshot reads)."""
    source = envelope.get("source") or {}
    if (source.get("lsn") is None and envelope.get("op") == "r"
            and source.get("snapshot") == INCREMENTAL_SNAPSHOT):
        return FILL_ONLY_TIMESTAMP
    return source.get("lsn")


# -- the same, as Spark SQL (the stream) ------------------------------------------
def spark_schema(image: DataType) -> StructType:
    """The JSON shape of a record value for ``from_json``, with or without the wrapper;
    ``image`` is the type the before/after images are parsed into."""
    from pyspark.sql import types as T

    source = T.StructType([T.StructField("lsn", T.LongType()), T.StructField("ts_ms", T.LongType()),
                           T.StructField("table", T.StringType()),
                           T.StructField("snapshot", T.StringType())])
    envelope = T.StructType([T.StructField("op", T.StringType()),
                             T.StructField("ts_ms", T.LongType()),
                             T.StructField("source", source),
                             T.StructField("before", image), T.StructField("after", image)])
    return T.StructType([*envelope.fields, T.StructField(WRAPPER, envelope),
                         T.StructField("_corrupt", T.StringType())])


def spark_field(parsed: Column, name: str) -> Column:
    """Field ``name`` of a value parsed with :func:`spark_schema`, unwrapped."""
    from pyspark.sql import functions as F

    return F.when(parsed[WRAPPER].isNotNull(), parsed[WRAPPER][name]).otherwise(parsed[name])


def spark_key(key_text: Column) -> Column:
    """A record key's columns as a map of their JSON texts, unwrapped."""
    from pyspark.sql import functions as F

    key_map = F.from_json(key_text, KEY_TYPE)
    return F.coalesce(F.from_json(key_map[WRAPPER], KEY_TYPE), key_map)


KEY_TYPE = "map<string,string>"
