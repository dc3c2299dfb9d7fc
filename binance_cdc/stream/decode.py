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
a 4-digit exponent, integers within their type, timestamps ISO-8601
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

import functools
from typing import TYPE_CHECKING, Any

from binance_cdc.datasets import Dataset, Kind
from binance_cdc.kafka.envelope import (
    DELETE_OP,
    FILL_ONLY_TIMESTAMP,
    INCREMENTAL_SNAPSHOT,
    MESSAGE_OP,
    UPSERT_OPS,
    spark_field,
    spark_key,
    spark_schema,
)
from binance_cdc.sink.query_tables import QueryTable, query_tables_for

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

MAX_DECIMAL_CHARS = 1000
# At most 1,000 characters and a 4-digit exponent (|e| <= 9999), in one regex.
DECIMAL_PATTERN = (r"^(?=.{1,%d}$)[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$"
                   % MAX_DECIMAL_CHARS)
BIGINT_PATTERN = r"^[+-]?[0-9]{1,19}$"
INT_PATTERN = r"^[+-]?[0-9]{1,10}$"
# Debezium's ZonedTimestamp: ISO-8601 with a zone (always UTC, "Z", in practice).
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
# Spark's TimestampType spans years 1 to 9999.
MIN_TS_MS = -62135596800000
MAX_TS_MS = 253402300799999
# The LSN ceiling is rounded up to this much WAL: a value that changes every batch
# would make Spark generate, compile and JIT new code for every micro-batch (the
# ceiling is a constant in the generated code), which costs more than the batch.
LSN_CEILING_STEP = 1 << 28  # 256 MiB of WAL


def rounded_ceiling(wal_position: int) -> int:
    """The LSN ceiling checked for a batch: the WAL position rounded up to a step."""
    return (wal_position // LSN_CEILING_STEP + 1) * LSN_CEILING_STEP


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


def decode(records: DataFrame, dataset: Dataset, *, lsn_ceiling: int,
           max_text_bytes: int) -> DataFrame:
    """Kafka records (key, value, topic, partition, offset, timestamp) of ``dataset``'s
    topic -> one decoded row each; see the module docstring for the columns."""
    from pyspark import SparkContext

    # Building the expressions costs hundreds of py4j calls (half a second a batch);
    # they are unresolved, so one set serves every batch of the same ceiling.
    stages = _stages(id(SparkContext._active_spark_context), dataset,  # noqa: SLF001
                     lsn_ceiling, max_text_bytes)
    frame = records
    for columns in stages:
        frame = frame.select(*columns)
    return frame


@functools.lru_cache(maxsize=32)
def _stages(context: int, dataset: Dataset, lsn_ceiling: int,
            max_text_bytes: int) -> tuple[list[Any], ...]:
    """The projections :func:`decode` applies, in order (``context``: the SparkContext
    they were built in; a new one needs new expressions)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    image_type = T.MapType(T.StringType(), T.StringType())
    value = F.col("value").cast("string")
    key = F.col("key").cast("string")
    parsed = F.from_json(value, spark_schema(image_type),
                         {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"})
    stages: list[list[Any]] = []
    stages.append([
        "topic", "partition", "offset", "timestamp", value.alias("_value"),
        parsed.alias("_raw"), key.alias("_key"), spark_key(key).alias("_key_map")])
    raw = F.col("_raw")

    def env(name: str) -> Column:
        return spark_field(raw, name)

    stages.append(["*", env("op").alias(OP), env("ts_ms").alias("_env_ts_ms"),
                   env("source").alias("_source"), env("before").alias("_before"),
                   env("after").alias("_after")])

    op, source = F.col(OP), F.col("_source")
    # As binance_cdc/kafka/envelope.py's write_timestamp: fill-only for incremental reads.
    lsn = F.when(source["lsn"].isNull() & (op == "r")
                 & (source["snapshot"] == INCREMENTAL_SNAPSHOT),
                 F.lit(FILL_ONLY_TIMESTAMP)).otherwise(source["lsn"])
    ts_ms = source["ts_ms"]
    after, before = F.col("_after"), F.col("_before")
    key_values = {name: F.coalesce(F.col("_key_map")[name], before[name])
                  for name in dataset.primary_key}

    # Each column adds a condition and its name only; the message is built once from
    # the first failing column (one shared expression keeps the generated code of a
    # 21-column table under the JVM's 64 KB method limit).
    upsert_error = F.when(after.isNull(),
                          F.concat(F.lit("op '"), op, F.lit("' without an after image"))) \
        .otherwise(_first_bad(after, "after", [(c.name, c.kind, c.nullable) for c in dataset.columns]))
    key_map = F.map_from_entries(F.array(*(F.struct(F.lit(k), v) for k, v in key_values.items())))
    delete_error = _first_bad(key_map, "key", [(k, dataset.column(k).kind, False)
                                               for k in dataset.primary_key])
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
    # The error first, in a projection of its own: the action and the output both
    # read it, so Spark keeps it as one column instead of inlining it twice.
    stages.append(["*", F.when(~skip, error).alias(ERROR), skip.alias("_skip"),
                   lsn.alias(LSN), ts_ms.alias(TS_MS)])
    action = (F.when(F.col("_skip"), "skip").when(F.col(ERROR).isNotNull(), "dead")
              .when(op == DELETE_OP, "delete").otherwise("upsert"))
    stages.append(["*", action.alias(ACTION)])

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
    # Only the query tables' derivations need the before-image (a trade's old day).
    queries = query_tables_for(dataset.name)
    before_typed = [F.when(applied & before_full, _typed(c.kind, before[c.name]))
                    .alias(before_column(c.name)) for c in dataset.columns] if queries else []
    stages.append([
        "topic", "partition", "offset", "timestamp", ACTION, ERROR, OP, LSN, TS_MS, *typed,
        before_full.alias(BEFORE_FULL), *before_typed,
        F.coalesce(F.size(F.array_except(F.map_keys(after), declared)) > 0,
                   F.lit(False)).alias(UNKNOWN_COLUMNS),
        _truncated(F.col("_key"), max_text_bytes).alias(KEY_TEXT),
        _truncated(F.col("_value"), max_text_bytes).alias(VALUE_TEXT),
        F.coalesce(F.octet_length(F.col("_value")), F.lit(0)).alias(VALUE_BYTES)])
    if queries:
        stages.append(["*", *(_moved(query).alias(moved_column(query)) for query in queries)])
    return tuple(stages)


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


EXPECTED: dict[Kind, str] = {
    "decimal": f"not a finite decimal of at most {MAX_DECIMAL_CHARS} characters",
    "bigint": "not a bigint (out of range or not an integer)",
    "int": "not an int (out of range or not an integer)",
    "boolean": "expected true or false",
    "timestamp": "not an ISO-8601 timestamp with a zone between the years 1 and 9999",
    "text": "not text",
}


def _first_bad(image: Column, where: str, columns: list[tuple[str, Kind, bool]]) -> Column:
    """Why the first invalid value of ``image`` (a map of JSON texts) is invalid, or null."""
    from pyspark.sql import functions as F

    bad = F.coalesce(*(F.when(_invalid(kind, image[name], nullable), F.lit(name))
                       for name, kind, nullable in columns))
    expected = F.create_map(*(part for name, kind, _ in columns
                              for part in (F.lit(name), F.lit(EXPECTED[kind]))))
    raw = image[bad]
    return F.when(bad.isNotNull(), F.concat(
        F.lit(f"{where}."), bad,
        F.when(raw.isNull(), F.lit(" is missing or null")).otherwise(F.concat(
            F.lit(" is '"), F.substring(raw, 1, QUOTE_CHARS), F.lit("', "), expected[bad]))))


def _invalid(kind: Kind, raw: Column, nullable: bool) -> Column:
    """True if ``raw`` (the JSON text of one value, or null) is not a valid ``kind``."""
    from pyspark.sql import functions as F

    if kind == "text":
        wrong = F.lit(False)
    elif kind == "decimal":
        wrong = ~raw.rlike(DECIMAL_PATTERN)
    elif kind in ("bigint", "int"):
        pattern = BIGINT_PATTERN if kind == "bigint" else INT_PATTERN
        wrong = ~raw.rlike(pattern) | _typed(kind, raw).isNull()
    elif kind == "boolean":
        wrong = ~raw.isin("true", "false")
    elif kind == "timestamp":
        wrong = ~raw.rlike(TIMESTAMP_PATTERN) | _typed(kind, raw).isNull()
    else:  # pragma: no cover - Kind is a closed set
        raise ValueError(f"unknown column kind {kind!r}")
    return F.when(raw.isNull(), F.lit(not nullable)).otherwise(wrong)


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
