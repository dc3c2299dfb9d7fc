"""The per-minute aggregation and its row: exact, once per trade, by trade id order."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from binance_cdc.sink.trade_metrics import minute_row, plain, vwap
from binance_cdc.stream.trade_minutes import minute_sums, trade_changes

pytestmark = [
    pytest.mark.spark,
    # py4j (inside pyspark) leaves its callback sockets to the garbage collector.
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket"
                               ":pytest.PytestUnraisableExceptionWarning"),
]

T0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.timezone.utc)


def _trade(symbol: str, trade_id: int, seconds: float, price: str, qty: str, *,
           buyer_maker: bool = False, op: str = "c", quote: str | None = None) -> str:
    """A Debezium change of binance.recent_trades, as the topic holds it."""
    after = {"symbol": symbol, "trade_id": trade_id, "price": price, "qty": qty,
             "quote_qty": quote or str(Decimal(price) * Decimal(qty)),
             "trade_time": (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
             "is_buyer_maker": buyer_maker, "is_best_match": True}
    return json.dumps({"before": after if op == "d" else None,
                       "after": None if op == "d" else after, "op": op,
                       "source": {"lsn": 1, "ts_ms": 1, "table": "recent_trades"}})


def _sums(spark, values: list[str | None]) -> dict[tuple, dict]:
    frame = spark.createDataFrame([(v,) for v in values], "value string")
    rows = minute_sums(trade_changes(frame), watermark_s=120).collect()
    return {(r["symbol"], r["minute"].replace(tzinfo=dt.timezone.utc)): minute_row(r.asDict())
            for r in rows}


def test_ohlc_by_trade_id_volumes_and_taker_split_are_exact(spark) -> None:
    # Listed out of id order on purpose: open and close follow the trade id, not arrival.
    trades = [_trade("BTCUSDT", 12, 50, "67000.02", "0.00100000"),
              _trade("BTCUSDT", 10, 1, "67000.01", "0.5", buyer_maker=True),
              _trade("BTCUSDT", 11, 30, "67100.00000001", "1.25"),
              _trade("BTCUSDT", 13, 61, "66999.99", "2"),           # next minute
              _trade("ETHUSDT", 7, 5, "3440.12", "10", buyer_maker=True),
              _trade("BTCUSDT", 10, 1, "67000.01", "0.5", buyer_maker=True),  # sent twice
              _trade("BTCUSDT", 14, 62, "1", "1", op="d"),  # deletes (retention) never count
              _trade("BTCUSDT", 15, 63, "1E+9999999999", "1", quote="1"),  # a poison value: left out
              json.dumps({"schema": {}, "payload": json.loads(  # the schemas-enabled wrapper
                  _trade("ETHUSDT", 8, 6, "3440.13", "1", op="r"))}),
              "not json", None]
    rows = _sums(spark, trades)
    first = rows[("BTCUSDT", T0)]
    assert first["open"] == Decimal("67000.01") and first["close"] == Decimal("67000.02")
    assert first["high"] == Decimal("67100.00000001") and first["low"] == Decimal("67000.01")
    assert first["trade_count"] == 3
    assert first["first_trade_id"] == 10 and first["last_trade_id"] == 12
    assert first["volume"] == Decimal("1.751")
    quote = (Decimal("67000.01") * Decimal("0.5") + Decimal("67100.00000001") * Decimal("1.25")
             + Decimal("67000.02") * Decimal("0.001"))
    assert first["quote_volume"] == quote
    assert first["buyer_maker_volume"] == Decimal("0.5")
    assert first["taker_buy_volume"] == Decimal("1.251")
    assert first["taker_buy_quote_volume"] == quote - Decimal("67000.01") * Decimal("0.5")
    assert first["vwap"] == (quote / Decimal("1.751")).quantize(Decimal("1e-8"))
    second = rows[("BTCUSDT", T0 + dt.timedelta(minutes=1))]
    assert second["trade_count"] == 1 and second["open"] == second["close"] == Decimal("66999.99")
    eth = rows[("ETHUSDT", T0)]
    assert eth["trade_count"] == 2 and eth["taker_buy_volume"] == 1
    assert len(rows) == 3


def test_a_trade_dated_far_in_the_future_is_not_counted(spark) -> None:
    ahead = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1) - T0).total_seconds()
    assert _sums(spark, [_trade("BTCUSDT", 1, ahead, "1", "1")]) == {}


def test_vwap_rounds_half_even_to_8_decimals() -> None:
    assert vwap(Decimal("0.000000025"), Decimal("1")) == Decimal("0.00000002")
    assert vwap(Decimal("0.000000035"), Decimal("1")) == Decimal("0.00000004")
    assert vwap(Decimal("10"), Decimal("3")) == Decimal("3.33333333")
    assert vwap(Decimal("1"), Decimal("0")) is None


def test_plain_drops_padding_zeros_only() -> None:
    assert str(plain(Decimal("67012.340000000000000000"))) == "67012.34"
    assert str(plain(Decimal("100.000"))) == "100"
    assert str(plain(Decimal("0.00000812"))) == "0.00000812"
