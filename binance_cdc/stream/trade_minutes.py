"""Per-minute trade metrics: a windowed, stateful aggregation of recent_trades changes.

A query of its own reads the recent_trades topic (its own checkpoint,
SPARK_CHECKPOINT_DIR/trade_metrics_1m) and keeps, per symbol and minute of
trade time, open/high/low/close (by trade id order), base and quote volume,
trade count, taker-buy volumes and the first and last trade id. The state lives
in the checkpoint (RocksDB on local disk), so a restart continues the minute it
was in, and Spark's offsets make a replayed micro-batch count nothing twice.

* Exact: prices and quantities are summed as decimal(38,18) (Binance uses at
  most 8 decimals); the VWAP is computed from the exact sums when the row is
  written (binance_cdc/sink/trade_metrics.py).
* Once: a trade that reaches Kafka twice (Debezium re-sends after a Connect
  crash, an incremental snapshot re-reads rows) is dropped by its
  (symbol, trade_id) within the watermark.
* Late trades: the watermark is the newest trade time seen minus
  SPARK_TRADE_METRICS_WATERMARK_S. A trade within it updates its minute; a later
  one is not counted (its minute is closed; `verify metrics` then reports that
  minute as different from Postgres). A trade dated more than
  :data:`MAX_FUTURE_S` after the batch's clock is not counted either: it would
  move the watermark past every real trade.
* Only inserts count (ops c and r, and u as the exchange never changes a trade):
  a delete (retention) never changes a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.kafka.envelope import UPSERT_OPS, spark_field, spark_schema
from binance_cdc.settings import Settings
from binance_cdc.sink.trade_metrics import (
    TABLE,
    TradeMetricsWriter,
    metrics_query_name,
    minute_row,
)
from binance_cdc.stream.job import kafka_records

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = logging.getLogger(__name__)

EXACT = "decimal(38,18)"
MAX_FUTURE_S = 300
# Minutes need not be rewritten five times a second: a longer trigger than the
# replica queries' spreads each state commit over more trades.
TRIGGER_S = 1.0
# What the aggregation reads of a recent_trades change, as JSON text each.
TRADE_FIELDS = ("symbol", "trade_id", "price", "qty", "quote_qty", "trade_time",
                "is_buyer_maker")


def trade_changes(records: DataFrame) -> DataFrame:
    """recent_trades change records -> the trades they insert, typed (a lean decode).

    Only the after-image fields the aggregation needs are parsed, into a struct, not
    the replica path's full checked decode (binance_cdc/stream/decode.py): parsing is
    most of the cost. A record the replica path would dead-letter yields a null here
    and is left out.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    after = T.StructType([T.StructField(name, T.StringType()) for name in TRADE_FIELDS])
    parsed = F.from_json(F.col("value").cast("string"), spark_schema(after))
    image = F.col("after")
    return (records.select(spark_field(parsed, "op").alias("op"),
                           spark_field(parsed, "after").alias("after"))
            .filter(F.col("op").isin(*UPSERT_OPS) & image.isNotNull())
            .select(image["symbol"].alias("symbol"),
                    image["trade_id"].cast("bigint").alias("trade_id"),
                    F.to_timestamp(image["trade_time"]).alias("trade_time"),
                    (image["is_buyer_maker"] == F.lit("true")).alias("is_buyer_maker"),
                    *(image[c].alias(c) for c in ("price", "qty", "quote_qty"))))


def minute_sums(trades: DataFrame, watermark_s: float) -> DataFrame:
    """Inserted trades (:func:`trade_changes`) -> one row per (symbol, minute), exact sums."""
    from pyspark.sql import functions as F

    exact = {c: F.col(c).cast(EXACT) for c in ("price", "qty", "quote_qty")}
    trades = trades.select("symbol", "trade_id", "trade_time", "is_buyer_maker",
                           *(value.alias(name) for name, value in exact.items()))
    horizon = F.current_timestamp() + F.expr(f"INTERVAL {MAX_FUTURE_S} SECONDS")
    trades = trades.filter(F.col("symbol").isNotNull() & F.col("trade_id").isNotNull()
                           & F.col("price").isNotNull() & F.col("qty").isNotNull()
                           & F.col("quote_qty").isNotNull() & F.col("trade_time").isNotNull()
                           & F.col("is_buyer_maker").isNotNull() & (F.col("trade_time") <= horizon))
    zero = F.lit(0).cast(EXACT)
    taker_buy = ~F.col("is_buyer_maker")
    trades = trades.withWatermark("trade_time", f"{int(watermark_s * 1000)} milliseconds")
    # A batch frame (tests, a one-off recomputation) has no watermark to bound the state.
    once = (trades.dropDuplicatesWithinWatermark(["symbol", "trade_id"]) if trades.isStreaming
            else trades.dropDuplicates(["symbol", "trade_id"]))
    return (
        once.groupBy("symbol", F.window("trade_time", "1 minute").alias("window"))
        .agg(F.min_by("price", "trade_id").alias("open"), F.max("price").alias("high"),
             F.min("price").alias("low"), F.max_by("price", "trade_id").alias("close"),
             F.sum("qty").alias("volume"), F.sum("quote_qty").alias("quote_volume"),
             F.count(F.lit(1)).alias("trade_count"),
             F.sum(F.when(taker_buy, F.col("qty")).otherwise(zero)).alias("taker_buy_volume"),
             F.sum(F.when(taker_buy, F.col("quote_qty")).otherwise(zero))
             .alias("taker_buy_quote_volume"),
             F.min("trade_id").alias("first_trade_id"), F.max("trade_id").alias("last_trade_id"))
        .select("symbol", F.col("window.start").alias("minute"), "open", "high", "low", "close",
                "volume", "quote_volume", "trade_count", "taker_buy_volume",
                "taker_buy_quote_volume", "first_trade_id", "last_trade_id"))


class MinuteWriter:
    """The metrics query's ``foreachBatch``: the minutes the batch changed -> Cassandra."""

    def __init__(self, settings: Settings, writer: TradeMetricsWriter,
                 query: Callable[[], StreamingQuery | None],
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.settings = settings
        self.writer = writer
        self.query = query
        """The running query (its progress holds the watermark)."""
        self.on_batch = on_batch
        self._watermark: dt.datetime | None = None

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        session = batch.sparkSession
        session.sparkContext.setLocalProperty("spark.scheduler.pool", TABLE)
        # Update mode: only the minutes this batch changed, a few rows per symbol.
        rows = [minute_row(row.asDict()) for row in batch.collect()]
        self.writer.write(rows)
        self._record_watermark()
        if rows:
            log.info("%s batch %d: %d minute(s) updated in %d ms", TABLE, batch_id, len(rows),
                     int((time.monotonic() - started) * 1000))
        if self.on_batch is not None:
            self.on_batch(batch_id)

    def _record_watermark(self) -> None:
        """The watermark the query last reported (Spark moves it between batches)."""
        # Not looked up in batch.sparkSession: foreachBatch runs in a clone of the
        # session, whose query manager does not list the query.
        query = self.query()
        progress = query.lastProgress if query is not None else None
        text = ((progress or {}).get("eventTime") or {}).get("watermark")
        if not text:
            return
        watermark = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if watermark.timestamp() > 0 and watermark != self._watermark:
            self.writer.record_watermark(metrics_query_name(self.settings.spark.query_name),
                                         watermark)
            self._watermark = watermark


def start_trade_metrics(session: SparkSession, settings: Settings, writer: TradeMetricsWriter,
                        query: Callable[[], StreamingQuery | None],
                        on_batch: Callable[[int], None] | None = None) -> StreamingQuery:
    """Start the metrics query; ``query`` returns it once started (for its watermark)."""
    spark = settings.spark
    trades = trade_changes(kafka_records(session, settings, RECENT_TRADES))
    sums = minute_sums(trades, spark.trade_metrics_watermark_s)
    return (
        sums.writeStream.queryName(metrics_query_name(spark.query_name)).outputMode("update")
        .option("checkpointLocation", str(spark.checkpoint_dir / TABLE))
        .trigger(processingTime=f"{max(spark.trigger_seconds, TRIGGER_S)} seconds")
        .foreachBatch(MinuteWriter(settings, writer, query, on_batch))
        .start()
    )

