"""Debezium envelope -> action, typed row and dead-letter reason, as the executors
decide it (binance_cdc/stream/decode.py). Table-driven on a local Spark session;
no Kafka, no Cassandra."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from binance_cdc.datasets import DATASETS
from binance_cdc.sink.query_tables import TRADES_BY_DAY
from binance_cdc.stream import decode as d
from binance_cdc.stream.driver_path import deletes_of, row_values

pytestmark = [
    pytest.mark.spark,
    # py4j (inside pyspark) leaves its callback sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket"
                               ":pytest.PytestUnraisableExceptionWarning"),
]

CEILING = 10_000
PRICES, TRADES = DATASETS["latest_prices"], DATASETS["recent_trades"]
PRICE = {"symbol": "BTCUSDT", "price": "0.00000001", "updated_at": "2024-02-29T23:59:59.999999Z"}
TRADE = {"symbol": "BTCUSDT", "trade_id": 7, "price": "100.5", "qty": "0.001", "quote_qty": "0.1005",
         "trade_time": "2024-05-01T23:59:59.123Z", "is_buyer_maker": True, "is_best_match": False}


def envelope(op: str | None, before: dict | None, after: dict | None, lsn: int | None = 100,
             table: str = "latest_prices", **source: Any) -> str:
    return json.dumps({"before": before, "after": after, "op": op, "ts_ms": 1_700_000_000_500,
                       "source": {"table": table, "lsn": lsn, "ts_ms": 1_700_000_000_000,
                                  "snapshot": "false", **source}})


def decode(spark: Any, values: list[str | None], dataset: Any = PRICES,
           keys: list[str | None] | None = None) -> list[dict]:
    return [r.asDict() for r in decoded_frame(spark, values, dataset, keys).collect()]


def decoded_frame(spark: Any, values: list[str | None], dataset: Any = PRICES,
                  keys: list[str | None] | None = None) -> Any:
    from pyspark.sql import functions as F

    keys = keys or [json.dumps({k: PRICE[k] for k in ("symbol",)})] * len(values)
    rows = [(k, v, f"binance.binance.{dataset.name}", 0, i, dt.datetime(2024, 1, 1))
            for i, (k, v) in enumerate(zip(keys, values))]
    frame = spark.createDataFrame(rows, "key string, value string, topic string, partition int, "
                                        "offset long, timestamp timestamp")
    frame = frame.select(F.col("key").cast("binary").alias("key"),
                         F.col("value").cast("binary").alias("value"), "topic", "partition",
                         "offset", "timestamp")
    return d.decode(frame, dataset, lsn_ceiling=CEILING, max_text_bytes=64).orderBy("offset")


def one(spark: Any, value: str | None, **kwargs: Any) -> dict:
    return decode(spark, [value], **kwargs)[0]


@pytest.mark.parametrize("op", ["c", "r", "u"])
def test_create_read_and_update_become_upserts_of_the_after_image(spark, op) -> None:
    row = one(spark, envelope(op, None, PRICE, lsn=4242))
    assert (row[d.ACTION], row[d.ERROR], row[d.LSN], row[d.TS_MS]) == (
        "upsert", None, 4242, 1_700_000_000_000)
    assert row["symbol"] == "BTCUSDT"
    assert row["price"] == "0.00000001"  # exact text: the connector makes it a BigDecimal
    assert row["updated_at"] == dt.datetime(2024, 2, 29, 23, 59, 59, 999999)


def test_the_schema_payload_wrapper_is_unwrapped(spark) -> None:
    wrapped = json.dumps({"schema": {"type": "struct"},
                          "payload": json.loads(envelope("c", None, PRICE, lsn=5))})
    row = one(spark, wrapped, keys=[json.dumps({"schema": {}, "payload": {"symbol": "BTCUSDT"}})])
    assert (row[d.ACTION], row[d.LSN], row["symbol"]) == ("upsert", 5, "BTCUSDT")


def test_an_incremental_snapshot_read_without_lsn_is_written_fill_only(spark) -> None:
    row = one(spark, envelope("r", None, PRICE, lsn=None, snapshot="incremental"))
    assert (row[d.ACTION], row[d.LSN]) == ("upsert", d.FILL_ONLY_TIMESTAMP)


def test_a_delete_takes_its_key_from_the_record_key_or_the_before_image(spark) -> None:
    by_key, by_before = decode(spark, [envelope("d", PRICE, None, lsn=7)] * 2,
                               keys=[json.dumps({"symbol": "ETHUSDT"}), None])
    assert (by_key[d.ACTION], by_key["symbol"], by_key[d.LSN]) == ("delete", "ETHUSDT", 7)
    assert (by_before[d.ACTION], by_before["symbol"]) == ("delete", "BTCUSDT")


@pytest.mark.parametrize("value", [None, json.dumps({"ts_ms": 1}), envelope("m", None, None)],
                         ids=["tombstone", "heartbeat", "message"])
def test_records_that_change_no_row_are_skipped(spark, value) -> None:
    assert one(spark, value)[d.ACTION] == "skip"


BAD = [
    ("this is not json {", "not JSON"),
    ("[1, 2]", "not JSON"),
    ('{"op": "c", "after": ' + "[" * 5000 + "]" * 5000 + "}", "not JSON"),
    (envelope("c", None, PRICE, lsn=None).replace('"lsn": null', '"lsn": 99999999999999999999'),
     "not JSON"),
    (envelope("x", None, PRICE), "unsupported op 'x'"),
    (envelope(None, None, PRICE), "unsupported op 'null'"),
    (envelope("c", None, None), "without an after image"),
    (envelope("c", None, {"symbol": "BTCUSDT", "price": "1"}), "after.updated_at is missing"),
    (envelope("c", None, {**PRICE, "price": "abc"}), "after.price is 'abc', not a finite decimal"),
    (envelope("c", None, {**PRICE, "price": "NAN"}), "not a finite decimal"),
    (envelope("c", None, {**PRICE, "price": "1E+9999999999"}), "not a finite decimal"),
    (envelope("c", None, {**PRICE, "price": "1" * 1001}), "not a finite decimal"),
    (envelope("c", None, {**PRICE, "updated_at": "infinity"}), "not an ISO-8601 timestamp"),
    (envelope("c", None, {**PRICE, "updated_at": "2024-01-01T00:00:00"}), "with a zone"),
    (envelope("c", None, {**PRICE, "updated_at": "+294247-01-10T04:00:54Z"}), "ISO-8601"),
    (envelope("c", None, {**PRICE, "symbol": None}), "after.symbol is missing or null"),
    (envelope("c", None, PRICE, table="klines"), "does not match the topic"),
    (envelope("c", None, PRICE, lsn=CEILING + 1), "ahead of the source's current WAL position"),
    (envelope("c", None, PRICE, lsn=-5), "not a WAL position"),
    (envelope("c", None, PRICE).replace('"ts_ms": 1700000000000', '"ts_ms": 9000000000000000000'),
     "outside the years 1-9999"),
]


@pytest.fixture(scope="module")
def bad_rows(spark) -> list[dict]:
    """Every BAD record decoded in one micro-batch, in order."""
    return decode(spark, [value for value, _ in BAD])


@pytest.mark.parametrize("index", range(len(BAD)), ids=[m for _, m in BAD])
def test_a_record_that_cannot_be_applied_is_dead_with_the_reason(bad_rows, index) -> None:
    (value, message), row = BAD[index], bad_rows[index]
    assert row[d.ACTION] == "dead"
    assert message in row[d.ERROR]
    assert row[d.VALUE_BYTES] == len(value)
    assert row[d.VALUE_TEXT] == value[:64]  # truncated to max_text_bytes, size kept


@pytest.mark.parametrize(("position", "ceiling"), [
    (0, d.LSN_CEILING_STEP), (d.LSN_CEILING_STEP - 1, d.LSN_CEILING_STEP),
    (d.LSN_CEILING_STEP, 2 * d.LSN_CEILING_STEP), (183_825_256, d.LSN_CEILING_STEP)])
def test_the_lsn_ceiling_is_the_wal_position_rounded_up(position, ceiling) -> None:
    assert d.rounded_ceiling(position) == ceiling > position


@pytest.mark.parametrize(("column", "raw"), [
    ("trade_id", "99999999999999999999"), ("trade_id", "1.5"), ("trade_id", "true"),
    ("is_buyer_maker", "1"), ("qty", "1e5x")])
def test_integers_and_booleans_out_of_their_type_are_dead(spark, column, raw) -> None:
    value = envelope("c", None, {**TRADE, column: raw}, table="recent_trades")
    row = one(spark, value, dataset=TRADES, keys=[json.dumps({"symbol": "BTCUSDT", "trade_id": 7})])
    assert row[d.ACTION] == "dead"
    assert f"after.{column}" in row[d.ERROR]


@pytest.mark.parametrize("price", [
    "12345678901234567890123456789012345678.12345678901234567890",  # beyond Spark's 38 digits
    "0.000000000000000000000000000001", "-1.50", "1E-30", "+7"])
def test_extreme_decimals_pass_exactly_as_text(spark, price) -> None:
    row = one(spark, envelope("c", None, {**PRICE, "price": price}))
    assert (row[d.ACTION], row["price"]) == ("upsert", price)


def test_a_column_added_in_postgres_is_ignored_and_counted(spark) -> None:
    row = one(spark, envelope("u", None, {**PRICE, "venue": "spot"}))
    assert (row[d.ACTION], row[d.UNKNOWN_COLUMNS]) == ("upsert", True)


def test_a_trade_moved_to_another_day_deletes_its_old_trades_by_day_row(spark) -> None:
    moved = {**TRADE, "trade_time": "2024-05-02T00:00:00.001Z"}
    key = json.dumps({"symbol": "BTCUSDT", "trade_id": 7})
    same_day, other_day, deleted = decode(spark, [
        envelope("u", TRADE, {**TRADE, "price": "101"}, table="recent_trades"),
        envelope("u", TRADE, moved, lsn=200, table="recent_trades"),
        envelope("d", TRADE, None, lsn=300, table="recent_trades")], dataset=TRADES,
        keys=[key] * 3)
    column = d.moved_column(TRADES_BY_DAY)
    assert (same_day[column], other_day[column], deleted[column]) == (False, True, True)
    # The driver derives the old row's key with the same declaration.
    plain = {**other_day, **{d.before_column("trade_time"): 1714607999123}}
    deletes = deletes_of(TRADES, plain)
    assert [(x.table, x.key["trade_date"], x.timestamp) for x in deletes] == [
        ("trades_by_day", dt.date(2024, 5, 1), 200)]


def test_the_query_tables_spark_and_python_derivations_agree(spark) -> None:
    from pyspark.sql import functions as F

    frame = decoded_frame(spark, [envelope("c", None, TRADE, table="recent_trades")],
                          dataset=TRADES, keys=[json.dumps({"symbol": "BTCUSDT", "trade_id": 7})])
    from_spark = frame.select(*(F.expr(TRADES_BY_DAY.spark_expression(c, lambda n: n)).alias(c)
                                for c in TRADES_BY_DAY.columns)).collect()[0].asDict()
    plain = frame.select(*(F.expr(f"unix_millis({c.name})").alias(c.name)
                           if c.kind == "timestamp" else F.col(c.name)
                           for c in TRADES.columns)).collect()[0].asDict()
    from_python = TRADES_BY_DAY.derive(row_values(TRADES, plain))
    assert from_spark["trade_date"] == from_python["trade_date"] == dt.date(2024, 5, 1)
    assert from_spark["trade_id"] == from_python["trade_id"] == 7
    assert str(from_python["price"]) == from_spark["price"] == "100.5"
