"""REST payload -> row tuples: exact decimals, Binance's shapes, errors that name the field."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from binance_cdc.binance import parse
from binance_cdc.binance.client import decode_json
from binance_cdc.datasets import DAILY_TICKER, KLINES, LATEST_PRICES, RECENT_TRADES
from binance_cdc.errors import PayloadError

TRADE = {"id": 3712345678, "price": "67012.34000000", "qty": "0.00150000",
         "quoteQty": "100.51851000", "time": 1721556000456, "isBuyerMaker": False,
         "isBestMatch": True}
KLINE = [1721555940000, "67001.10000000", "67020.00000000", "66998.52000000", "67012.34000000",
         "12.48310000", 1721555999999, "836390.44120310", 1873, "6.90210000",
         "462447.83170040", "0"]


def as_dict(dataset, row):
    assert len(row) == len(dataset.column_names)
    return dict(zip(dataset.column_names, row))


def test_trade_rows_keep_strings_exact_and_follow_the_declared_column_order():
    (row,) = parse.trade_rows("BTCUSDT", [TRADE])
    assert as_dict(RECENT_TRADES, row) == {
        "symbol": "BTCUSDT", "trade_id": 3712345678, "price": Decimal("67012.34000000"),
        "qty": Decimal("0.00150000"), "quote_qty": Decimal("100.51851000"),
        "trade_time": datetime(2024, 7, 21, 10, 0, 0, 456000, tzinfo=timezone.utc),
        "is_buyer_maker": False, "is_best_match": True}
    assert str(row[2]) == "67012.34000000"


def test_empty_trade_list_gives_no_rows():
    assert parse.trade_rows("BTCUSDT", []) == []


def test_trades_are_sorted_by_id():
    later = {**TRADE, "id": TRADE["id"] + 1}
    rows = parse.trade_rows("X", [later, TRADE])
    assert [r[1] for r in rows] == [TRADE["id"], TRADE["id"] + 1]


@pytest.mark.parametrize("value, expected", [
    pytest.param("0.00000001", "0.00000001", id="8-decimals"),
    pytest.param("123456789012345678901234567890.12345678",
                 "123456789012345678901234567890.12345678", id="huge-beyond-28-digits"),
    pytest.param("1E-18", "1E-18", id="exponent"),
    pytest.param(5, "5", id="json-int"),
    pytest.param(Decimal("0.1"), "0.1", id="json-number-as-decimal"),
])
def test_decimals_round_trip_exactly(value, expected):
    result = parse.decimal_of(value, parse.Where("/x"), "f")
    assert result.as_tuple() == Decimal(expected).as_tuple()  # same digits, same exponent


def test_json_numbers_are_decoded_without_float():
    body = b'[{"symbol": "1000SATSUSDT", "price": 0.00030120}]'
    (row,) = parse.price_rows(decode_json(body, endpoint="/api/v3/ticker/price"),
                              datetime(2026, 1, 1, tzinfo=timezone.utc), asked=["1000SATSUSDT"])
    assert row[1] == Decimal("0.00030120") and str(row[1]) == "0.00030120"


@pytest.mark.parametrize("value", [
    pytest.param("abc", id="not-a-number"), pytest.param("", id="empty"),
    pytest.param("NaN", id="nan"), pytest.param("Infinity", id="infinity"),
    pytest.param(0.1, id="float"), pytest.param(True, id="bool"), pytest.param(None, id="null"),
    pytest.param([1], id="list"),
])
def test_bad_decimals_are_payload_errors_naming_endpoint_symbol_and_field(value):
    with pytest.raises(PayloadError) as info:
        parse.trade_rows("ETHUSDT", [{**TRADE, "price": value}])
    assert info.value.endpoint == "/api/v3/trades"
    assert info.value.symbol == "ETHUSDT"
    assert info.value.field == "[0].price"
    assert "/api/v3/trades" in str(info.value) and "ETHUSDT" in str(info.value)


def test_missing_field_is_named():
    broken = dict(TRADE)
    del broken["quoteQty"]
    with pytest.raises(PayloadError, match="field quoteQty"):
        parse.trade_rows("BTCUSDT", [broken])


def test_an_object_where_a_list_belongs_is_a_payload_error():
    with pytest.raises(PayloadError):
        parse.trade_rows("BTCUSDT", {"code": -1, "msg": "x"})


def test_malformed_json_is_a_payload_error():
    with pytest.raises(PayloadError, match="not valid JSON"):
        decode_json(b'[{"id": 1, "pri', endpoint="/api/v3/trades", symbol="BTCUSDT")


@pytest.mark.parametrize("server_ms, closed", [
    pytest.param(1721556000000, True, id="after-close"),
    pytest.param(1721555999999, False, id="at-close-ms"),
    pytest.param(1721555950000, False, id="inside"),
])
def test_kline_array_maps_by_index_and_closes_on_server_time(server_ms, closed):
    (row,) = parse.kline_rows("BTCUSDT", "1m", [KLINE], server_ms)
    values = as_dict(KLINES, row)
    assert values["open_time"] == datetime(2024, 7, 21, 9, 59, tzinfo=timezone.utc)
    assert values["close_time"] == datetime(2024, 7, 21, 9, 59, 59, 999000, tzinfo=timezone.utc)
    assert values["open"] == Decimal("67001.10000000")
    assert values["close"] == Decimal("67012.34000000")
    assert values["quote_volume"] == Decimal("836390.44120310")
    assert values["trade_count"] == 1873
    assert values["taker_buy_quote_volume"] == Decimal("462447.83170040")
    assert values["is_closed"] is closed


def test_short_kline_array_is_rejected():
    with pytest.raises(PayloadError, match="12-element"):
        parse.kline_rows("BTCUSDT", "1m", [KLINE[:5]], 0)


def test_ticker_24hr_rows_accept_non_ascii_and_digit_symbols():
    item = {"symbol": "币安人生USDT", "priceChange": "-0.00120000",
            "priceChangePercent": "-0.781",
            "weightedAvgPrice": "0.15300000", "prevClosePrice": "0.15360000",
            "lastPrice": "0.15240000", "lastQty": "1200.00000000", "bidPrice": "0.15230000",
            "bidQty": "10.00000000", "askPrice": "0.15240000", "askQty": "20.00000000",
            "openPrice": "0.15360000", "highPrice": "0.16000000", "lowPrice": "0.15000000",
            "volume": "98765432109876.50000000", "quoteVolume": "15111111111111.11111111",
            "openTime": 1721469600456, "closeTime": 1721556000456, "firstId": "100",
            "lastId": 200, "count": 101}
    (row,) = parse.ticker_24hr_rows([item], asked=["币安人生USDT"])
    values = as_dict(DAILY_TICKER, row)
    assert values["symbol"] == "币安人生USDT"
    assert values["volume"] == Decimal("98765432109876.50000000")
    assert values["first_id"] == 100  # integers may come as strings too


def test_price_rows():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = parse.price_rows([{"symbol": "1000SATSUSDT", "price": "0.00030120"}], now,
                            asked=["1000SATSUSDT"])
    assert [as_dict(LATEST_PRICES, r) for r in rows] == [
        {"symbol": "1000SATSUSDT", "price": Decimal("0.00030120"), "updated_at": now}]


def test_depth_snapshot_drops_zero_levels_and_rejects_duplicates():
    snap = parse.depth_snapshot("BTCUSDT", {
        "lastUpdateId": 58123456789,
        "bids": [["67012.34000000", "0.51200000"], ["67012.33000000", "0.00000000"]],
        "asks": [["67012.35000000", "1.20450000"]]})
    assert snap.last_update_id == 58123456789
    assert snap.levels == {("bid", Decimal("67012.34")): Decimal("0.512"),
                           ("ask", Decimal("67012.35")): Decimal("1.2045")}
    with pytest.raises(PayloadError, match="twice"):
        parse.depth_snapshot("BTCUSDT", {"lastUpdateId": 1, "asks": [],
                                         "bids": [["1.0", "1"], ["1.00", "2"]]})


def test_row_rejects_missing_or_extra_columns():
    with pytest.raises(ValueError, match="declared"):
        parse.row(LATEST_PRICES, {"symbol": "X", "price": Decimal(1)})
