"""Debezium change envelopes -> what to do in Cassandra, as Spark expressions.

The whole decision runs in the JVM, on the executors, so a plain upsert never
crosses into Python. Each Kafka record of a dataset's topic becomes one row
with an ``_action``:

* ``upsert`` — ops ``c``, ``r``, ``u``: the declared columns, typed;
* ``delete`` — op ``d``: the primary-key columns, typed;
* ``skip`` — a tombstone, a heartbeat or a logical-decoding message;
* ``dead`` — anything that cannot be applied, with ``_error`` saying why.

Every value is checked before it can reach the Cassandra writer (a value that
would fail there would fail the micro-batch on every replay and wedge the
stream): decimals must be finite and within :data:`MAX_DECIMAL_CHARS` and
:data:`MAX_DECIMAL_EXPONENT`, integers within their type, timestamps ISO-8601
with a zone, ``source.ts_ms`` within Spark's timestamp range, and the LSN (the
write timestamp) at most the source's current WAL position, so a forged or
foreign LSN cannot shadow every later change.

Row images are parsed as ``map<string,string>``: JSON numbers and booleans
arrive as their text, so one schema fits every table, columns added in
Postgres later are merely counted (``_unknown_columns``), and every typed value
is derived from binance_cdc/datasets.py. Decimals stay strings: Spark's
DecimalType stops at 38 digits, Cassandra's decimal does not, and the
connector turns a string into an exact ``BigDecimal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from binance_cdc.datasets import Dataset, Kind
from binance_cdc.sink.query_tables import QueryTable, query_tables_for

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

UPSERT_OPS = ("c", "r", "u")
DELETE_OP = "d"
# Logical-decoding messages (pg_logical_emit_message) carry no row change.
MESSAGE_OP = "m"
# Incremental-snapshot reads carry no LSN: the row was read by a query, not
# decoded from the WAL, so nothing orders it against the stream's changes.
# They are written "fill-only", below every change: they restore rows that are
# missing in Cassandra and never overwrite a state the stream already wrote.
FILL_ONLY_TIMESTAMP = 0

MAX_DECIMAL_CHARS = 1000
MAX_DECIMAL_EXPONENT = 9999
DECIMAL_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$"
BIGINT_PATTERN = r"^[+-]?[0-9]{1,19}$"
INT_PATTERN = r"^[+-]?[0-9]{1,10}$"
# Debezium's ZonedTimestamp: ISO-8601 with a zone (always UTC, "Z", in practice).
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
# Spark's TimestampType spans years 1 to 9999.
MIN_TS_MS = -62135596800000
MAX_TS_MS = 253402300799999
# How much of an offending value an error message quotes.
QUOTE_CHARS = 80

# Columns of the decoded frame besides the dataset's own.
ACTION, ERROR, OP, LSN, TS_MS = "_action", "_error", "_op", "_lsn", "_ts_ms"
UNKNOWN_COLUMNS, BEFORE_FULL = "_unknown_columns", "_before_full"
KEY_TEXT, VALUE_TEXT, VALUE_BYTES = "_key_text", "_value_text", "_value_bytes"


def before_column(name: str) -> str:
    """The decoded frame's column holding ``name`` from the before-image."""
    return f"_before_{name}"


def moved_column(query: QueryTable) -> str:
    """True where a change took its row of ``query`` away from the old query key."""
    return f"_moved_{query.name}"


def envelope_schema():  # noqa: ANN201 - a pyspark StructType
    """The JSON shape of a Debezium value, with or without the ``{schema, payload}`` wrapper."""
    from pyspark.sql import types as T

    image = T.MapType(T.StringType(), T.StringType())
    source = T.StructType([T.StructField("lsn", T.LongType()), T.StructField("ts_ms", T.LongType()),
                           T.StructField("table", T.StringType()),
                           T.StructField("snapshot", T.StringType())])
    envelope = T.StructType([T.StructField("op", T.StringType()),
                             T.StructField("ts_ms", T.LongType()),
                             T.StructField("source", source),
                             T.StructField("before", image), T.StructField("after", image)])
    return T.StructType([*envelope.fields, T.StructField("payload", envelope),
                         T.StructField("_corrupt", T.StringType())])


def decode(records: DataFrame, dataset: Dataset, *, lsn_ceiling: int,
           max_text_bytes: int) -> DataFrame:
    """Kafka records (key, value, topic, partition, offset, timestamp) of ``dataset``'s
    topic -> one decoded row each; see the module docstring for the columns."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    image_type = T.MapType(T.StringType(), T.StringType())
    value = F.col("value").cast("string")
    key = F.col("key").cast("string")
    parsed = F.from_json(value, envelope_schema(),
                         {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"})
    key_map = F.from_json(key, image_type)
    frame = records.select(
        "topic", "partition", "offset", "timestamp", value.alias("_value"),
        parsed.alias("_raw"), key.alias("_key"),
        # A key with the schema wrapper holds its fields under "payload".
        F.coalesce(F.from_json(key_map["payload"], image_type), key_map).alias("_key_map"))
    raw = F.col("_raw")

    def env(name: str) -> Column:
        return F.when(raw["payload"].isNotNull(), raw["payload"][name]).otherwise(raw[name])

    frame = frame.select("*", env("op").alias(OP), env("ts_ms").alias("_env_ts_ms"),
                         env("source").alias("_source"), env("before").alias("_before"),
                         env("after").alias("_after"))

    op, source = F.col(OP), F.col("_source")
    lsn = F.when(source["lsn"].isNull() & (op == "r") & (source["snapshot"] == "incremental"),
                 F.lit(FILL_ONLY_TIMESTAMP)).otherwise(source["lsn"])
    ts_ms = source["ts_ms"]
    after, before = F.col("_after"), F.col("_before")
    key_values = {name: F.coalesce(F.col("_key_map")[name], before[name])
                  for name in dataset.primary_key}

    upsert_error = F.coalesce(
        F.when(after.isNull(), F.concat(F.lit("op '"), op, F.lit("' without an after image"))),
        *(_column_error(c.kind, after[c.name], f"after.{c.name}", c.nullable)
          for c in dataset.columns))
    delete_error = F.coalesce(
        *(_column_error(dataset.column(name).kind, key_values[name], f"key.{name}", False)
          for name in dataset.primary_key))
    error = F.coalesce(
        F.when(F.col("_raw")["_corrupt"].isNotNull(),
               F.lit("record value is not JSON, or not a change envelope (a field has the "
                     "wrong JSON type or is out of range)")),
        F.when(op.isNull() | ~op.isin(*UPSERT_OPS, DELETE_OP),
               F.concat(F.lit("unsupported op '"), F.coalesce(op, F.lit("null")),
                        F.lit("' (expected c, r, u or d)"))),
        F.when(source.isNull(), F.lit("envelope has no source block")),
        F.when(source["table"].isNotNull() & (source["table"] != dataset.name),
               F.concat(F.lit("source.table '"), source["table"],
                        F.lit(f"' does not match the topic of {dataset.name}"))),
        F.when(lsn.isNull(), F.lit("source.lsn is missing")),
        F.when(lsn < 0, F.concat(F.lit("source.lsn "), lsn.cast("string"),
                                 F.lit(" is not a WAL position"))),
        F.when(lsn > F.lit(lsn_ceiling), F.concat(
            F.lit("source.lsn "), lsn.cast("string"),
            F.lit(f" is ahead of the source's current WAL position {lsn_ceiling}: a forged "
                  "record, or one from another (rebuilt?) Postgres"))),
        F.when(ts_ms.isNull(), F.lit("source.ts_ms is missing")),
        F.when((ts_ms < MIN_TS_MS) | (ts_ms > MAX_TS_MS),
               F.concat(F.lit("source.ts_ms "), ts_ms.cast("string"),
                        F.lit(" is outside the years 1-9999"))),
        F.when(op == DELETE_OP, delete_error).otherwise(upsert_error))

    skip = F.coalesce(F.col("_value").isNull()
                      | (op.isNull() & F.col("_raw")["_corrupt"].isNull() & source.isNull()
                         & F.col("_env_ts_ms").isNotNull())
                      | (op == MESSAGE_OP), F.lit(False))
    action = (F.when(skip, "skip").when(error.isNotNull(), "dead")
              .when(op == DELETE_OP, "delete").otherwise("upsert"))
    frame = frame.select("*", action.alias(ACTION), F.when(~skip, error).alias(ERROR),
                         lsn.alias(LSN), ts_ms.alias(TS_MS))

    # Typed values only where every check passed: a dead row's raw text stays raw.
    is_delete, is_upsert = F.col(ACTION) == "delete", F.col(ACTION) == "upsert"
    typed = [F.when(is_delete, _typed(c.kind, key_values[c.name]) if c.name in key_values
                    else F.lit(None))
             .when(is_upsert, _typed(c.kind, after[c.name])).alias(c.name)
             for c in dataset.columns]
    declared = F.array(*(F.lit(c) for c in dataset.column_names))
    before_full = F.coalesce(
        F.size(F.array_except(declared, F.map_keys(before))) == 0, F.lit(False))
    applied = F.col(ACTION).isin("upsert", "delete")
    before_typed = [F.when(applied & before_full, _typed(c.kind, before[c.name]))
                    .alias(before_column(c.name)) for c in dataset.columns]
    frame = frame.select(
        "topic", "partition", "offset", "timestamp", ACTION, ERROR, OP, LSN, TS_MS, *typed,
        before_full.alias(BEFORE_FULL), *before_typed,
        F.coalesce(F.size(F.array_except(F.map_keys(after), declared)) > 0,
                   F.lit(False)).alias(UNKNOWN_COLUMNS),
        _truncated(F.col("_key"), max_text_bytes).alias(KEY_TEXT),
        _truncated(F.col("_value"), max_text_bytes).alias(VALUE_TEXT),
        F.coalesce(F.octet_length(F.col("_value")), F.lit(0)).alias(VALUE_BYTES))
    for query in query_tables_for(dataset.name):
        frame = frame.withColumn(moved_column(query), _moved(query))
    return frame


def _moved(query: QueryTable) -> Column:
    """The change removes a row of ``query`` at the key derived from the before-image:
    a delete, or an upsert whose derived query key differs from the before-image's."""
    from pyspark.sql import functions as F

    old = [F.expr(query.spark_expression(k, before_column)) for k in query.key]
    new = [F.expr(query.spark_expression(k, lambda c: c)) for k in query.key]
    differs = F.lit(False)
    for was, now in zip(old, new):
        differs = differs | ~was.eqNullSafe(now)
    action = F.col(ACTION)
    return F.col(BEFORE_FULL) & ((action == "delete") | ((action == "upsert") & differs))


def _truncated(text: Column, max_chars: int) -> Column:
    from pyspark.sql import functions as F

    return F.when(F.length(text) > max_chars, F.substring(text, 1, max_chars)).otherwise(text)


def _quoted(where: str, raw: Column, problem: str) -> Column:
    from pyspark.sql import functions as F

    return F.concat(F.lit(f"{where} is '"), F.substring(raw, 1, QUOTE_CHARS), F.lit(f"', {problem}"))


def _column_error(kind: Kind, raw: Column, where: str, nullable: bool) -> Column:
    """Null if ``raw`` (the JSON text of one value) is a valid ``kind``, else why not."""
    from pyspark.sql import functions as F

    missing = F.lit(None) if nullable else F.lit(f"{where} is missing or null")
    if kind == "text":
        problem = F.lit(None)
    elif kind == "decimal":
        exponent = F.regexp_extract(raw, r"[eE]([+-]?[0-9]+)$", 1)
        problem = F.when(
            ~raw.rlike(DECIMAL_PATTERN) | (F.length(raw) > MAX_DECIMAL_CHARS)
            | ((exponent != "") & (F.abs(exponent.cast("int")) > MAX_DECIMAL_EXPONENT)),
            _quoted(where, raw, f"not a finite decimal of at most {MAX_DECIMAL_CHARS} characters"))
    elif kind in ("bigint", "int"):
        pattern, spark_type = (BIGINT_PATTERN, "bigint") if kind == "bigint" else (INT_PATTERN, "int")
        problem = F.when(~raw.rlike(pattern) | raw.cast(spark_type).isNull(),
                         _quoted(where, raw, f"not a {kind} (out of range or not an integer)"))
    elif kind == "boolean":
        problem = F.when(~raw.isin("true", "false"), _quoted(where, raw, "expected true or false"))
    elif kind == "timestamp":
        problem = F.when(~raw.rlike(TIMESTAMP_PATTERN) | F.to_timestamp(raw).isNull(),
                         _quoted(where, raw, "not an ISO-8601 timestamp with a zone "
                                             "between the years 1 and 9999"))
    else:  # pragma: no cover - Kind is a closed set
        raise ValueError(f"unknown column kind {kind!r}")
    return F.when(raw.isNull(), missing).otherwise(problem)


def _typed(kind: Kind, raw: Column) -> Column:
    """The value Cassandra takes, from the JSON text of a (checked) value."""
    from pyspark.sql import functions as F

    if kind in ("text", "decimal"):
        return raw
    if kind == "bigint":
        return raw.cast("bigint")
    if kind == "int":
        return raw.cast("int")
    if kind == "boolean":
        return raw == F.lit("true")
    if kind == "timestamp":
        return F.to_timestamp(raw)
    raise ValueError(f"unknown column kind {kind!r}")  # pragma: no cover
