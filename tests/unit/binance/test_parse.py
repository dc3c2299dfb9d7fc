"""REST payload -> row tuples: exact decimals, Binance's shapes, errors that name the field."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from binance_cdc.binance import parse
from binance_cdc.binance.client import decode_json
from binance_cdc.datasets import (
    DAILY_TICKER,
    DATASETS,
    KLINES,
    LATEST_PRICES,
    ORDER_BOOK,
    RECENT_TRADES,
    Column,
)
from binance_cdc.errors import PayloadError, RejectedValueError

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


# -- values the declaration rules out ------------------------------------------------------
TICKER = {"symbol": "BTCUSDT", "priceChange": "-1012.34000000", "priceChangePercent": "-1.534",
          "weightedAvgPrice": "66543.21098765", "prevClosePrice": "66000.01000000",
          "lastPrice": "67012.34000000", "lastQty": "0.00150000", "bidPrice": "67012.33000000",
          "bidQty": "0.51200000", "askPrice": "67012.34000000", "askQty": "1.20450000",
          "openPrice": "66000.00000000", "highPrice": "67350.00000000",
          "lowPrice": "65810.12000000", "volume": "18234.56789000",
          "quoteVolume": "1213406789.12345678", "openTime": 1721469600456,
          "closeTime": 1721556000456, "firstId": 3710001234, "lastId": 3712345678,
          "count": 2344445}
TICKER_DECIMAL_KEYS = [k for k, v in TICKER.items() if isinstance(v, str) and k != "symbol"]
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rejected(call) -> RejectedValueError:
    with pytest.raises(RejectedValueError) as info:
        call()
    return info.value


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.name)
def test_only_changes_are_declared_signed(dataset):
    signed = {c.name for c in dataset.columns if c.signed}
    expected = {"price_change", "price_change_percent"} if dataset is DAILY_TICKER else set()
    assert signed == expected


def test_only_a_decimal_column_can_be_signed():
    with pytest.raises(ValueError, match="only a decimal"):
        Column("trade_id", "bigint", signed=True)


@pytest.mark.parametrize("key, column", [
    pytest.param("price", "price", id="price"),
    pytest.param("qty", "qty", id="qty"),
    pytest.param("quoteQty", "quote_qty", id="quote-qty"),
])
def test_negative_trade_values_are_rejected_naming_dataset_symbol_field_and_value(key, column):
    error = rejected(lambda: parse.trade_rows(
        "ETHUSDT", [TRADE, {**TRADE, "id": TRADE["id"] + 1, key: "-0.5"}]))
    assert (error.dataset, error.symbol, error.field) == ("recent_trades", "ETHUSDT",
                                                          f"[1].{column}")
    assert error.value == Decimal("-0.5") and error.endpoint == "/api/v3/trades"
    message = str(error)
    for part in ("recent_trades", "ETHUSDT", f"[1].{column}", "-0.5", "nothing written"):
        assert part in message


def test_zero_is_not_negative():
    (row,) = parse.trade_rows("BTCUSDT", [{**TRADE, "qty": "0", "quoteQty": "-0"}])
    assert row[3] == 0


@pytest.mark.parametrize("index", [1, 2, 3, 4, 5, 7, 9, 10], ids=lambda i: f"kline[{i}]")
def test_every_negative_kline_decimal_is_rejected(index):
    kline = list(KLINE)
    kline[index] = "-" + kline[index]
    error = rejected(lambda: parse.kline_rows("BTCUSDT", "1m", [kline], 0))
    assert error.dataset == "klines" and error.field.startswith("[0].")
    assert error.value == -Decimal(KLINE[index])


@pytest.mark.parametrize("key", TICKER_DECIMAL_KEYS)
def test_ticker_decimals_may_be_negative_only_where_declared_signed(key):
    item = {**TICKER, key: "-" + TICKER[key].lstrip("-")}
    if key in ("priceChange", "priceChangePercent"):
        (row,) = parse.ticker_24hr_rows([item], asked=["BTCUSDT"])
        assert row[DAILY_TICKER.column_names.index("price_change")] < 0
    else:
        error = rejected(lambda: parse.ticker_24hr_rows([item], asked=["BTCUSDT"]))
        assert error.dataset == "daily_ticker" and error.symbol == "BTCUSDT"
        assert error.value < 0


@pytest.mark.parametrize("side, level, field", [
    pytest.param("bids", ["-1.0", "1"], "bids[0][0]", id="negative-price"),
    pytest.param("asks", ["1.0", "-0.1"], "asks[0][1]", id="negative-quantity"),
])
def test_negative_depth_levels_are_rejected(side, level, field):
    payload = {"lastUpdateId": 1, "bids": [], "asks": [], side: [level]}
    error = rejected(lambda: parse.depth_snapshot("BTCUSDT", payload))
    assert (error.dataset, error.symbol, error.field) == ("order_book", "BTCUSDT", field)


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "sNaN"])
def test_a_non_finite_number_in_an_answer_is_rejected_naming_the_dataset(value):
    error = rejected(lambda: parse.ticker_24hr_rows([{**TICKER, "priceChange": value}],
                                                    asked=["BTCUSDT"]))
    assert (error.dataset, error.symbol, error.field) == ("daily_ticker", "BTCUSDT",
                                                          "[0].priceChange")
    assert f"{value!r} is not a finite number" in str(error)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("-Infinity")], ids=str)
def test_a_non_finite_decimal_is_rejected_even_in_a_signed_column(value):
    values = dict(zip(DAILY_TICKER.column_names, parse.ticker_24hr_rows(
        [TICKER], asked=["BTCUSDT"])[0]))
    error = rejected(lambda: parse.row(DAILY_TICKER, {**values, "price_change": value}))
    assert error.field == "price_change" and "not a finite number" in str(error)


@pytest.mark.parametrize("parse_answer", [
    pytest.param(lambda payload, asked: parse.price_rows(payload, NOW, asked=asked),
                 id="latest_prices"),
    pytest.param(lambda payload, asked: parse.ticker_24hr_rows(payload, asked=asked),
                 id="daily_ticker"),
])
@pytest.mark.parametrize("symbols, field, problem", [
    pytest.param(["BTCUSDT", "DOGEUSDT"], "[1].symbol", "was not asked for", id="not-asked"),
    pytest.param(["BTCUSDT", "BTCUSDT"], "[1].symbol", "appears twice", id="twice"),
])
def test_a_multi_symbol_answer_holds_only_the_symbols_asked_for(parse_answer, symbols, field,
                                                                problem):
    payload = [{**TICKER, "price": "1.5", "symbol": s} for s in symbols]
    error = rejected(lambda: parse_answer(payload, ["BTCUSDT", "ETHUSDT"]))
    assert error.field == field and error.value == symbols[1] and error.symbol == symbols[1]
    assert problem in str(error) and error.dataset in str(error)


def test_an_asked_symbol_missing_from_the_answer_is_no_error():
    rows = parse.price_rows([{"symbol": "ETHUSDT", "price": "1"}], NOW,
                            asked=["BTCUSDT", "ETHUSDT"])
    assert [r[0] for r in rows] == ["ETHUSDT"]


def test_order_book_rows_built_by_the_loader_are_checked_too():
    error = rejected(lambda: parse.row(ORDER_BOOK, {
        "symbol": "X", "side": "bid", "price": Decimal(1), "quantity": Decimal(-1),
        "last_update_id": 1, "updated_at": NOW}))
    assert error.dataset == "order_book" and error.field == "quantity"
