"""Frames of Binance's combined trade streams -> trades, replies, shutdowns or skips (pure)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from binance_cdc.binance.parse import trade_rows
from binance_cdc.binance.websocket.messages import (
    Reply,
    Shutdown,
    Skip,
    Trade,
    combined_url,
    decode,
    split_streams,
    trade_stream,
)

SUBSCRIBED = {"btcusdt@trade": "BTCUSDT", "币安人生usdt@trade": "币安人生USDT"}
TRADE = {"e": "trade", "E": 1721556000460, "s": "BTCUSDT", "t": 3712345678,
         "p": "67012.34000000", "q": "0.00150000", "T": 1721556000456, "m": False, "M": True}


def frame(stream: str = "btcusdt@trade", **changes: object) -> str:
    data = {k: v for k, v in {**TRADE, **changes}.items() if v is not None}
    return json.dumps({"stream": stream, "data": data}, ensure_ascii=False)


def test_a_trade_becomes_the_same_row_rest_makes():
    message = decode(frame(), SUBSCRIBED)
    assert isinstance(message, Trade)
    assert (message.symbol, message.trade_id, message.event_ms) == ("BTCUSDT", 3712345678,
                                                                     1721556000460)
    (rest_row,) = trade_rows("BTCUSDT", [{
        "id": 3712345678, "price": "67012.34000000", "qty": "0.00150000",
        "quoteQty": "100.51851000", "time": 1721556000456, "isBuyerMaker": False,
        "isBestMatch": True}])
    assert message.row == rest_row
    assert [str(v) for v in message.row[2:5]] == [str(v) for v in rest_row[2:5]]  # same scale
    assert message.row[5] == datetime(2024, 7, 21, 10, 0, 0, 456000, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    pytest.param(frame(b=88, a=50), Trade, id="old-payload-with-order-ids"),
    pytest.param(frame("币安人生usdt@trade", s="币安人生USDT"), Trade, id="non-ascii-symbol"),
    pytest.param(frame("%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9Fusdt@trade", s="币安人生USDT"),
                 Trade, id="percent-encoded-stream-name"),
    pytest.param(frame(p=1.5), Trade, id="json-number-price-read-exactly"),
    pytest.param('{"result": null, "id": 1}', Reply, id="subscribe-reply"),
    pytest.param('{"error": {"code": 2, "msg": "Invalid request"}, "id": 7}', Reply,
                 id="error-reply"),
    pytest.param('{"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1}}',
                 Shutdown, id="shutdown-combined"),
    pytest.param('{"e": "serverShutdown", "E": 1}', Shutdown, id="shutdown-raw"),
])
def test_frames_that_are_not_skipped(text, expected):
    assert isinstance(decode(text, SUBSCRIBED), expected)


@pytest.mark.parametrize("text, reason, detail", [
    pytest.param('{"stream": "btcusdt@trade", "data": {"e": "tr', "malformed", "not JSON",
                 id="truncated-json"),
    pytest.param("[1, 2]", "malformed", "expected a JSON object", id="array"),
    pytest.param('{"hello": 1}', "malformed", "neither", id="unknown-shape"),
    pytest.param(frame("ethusdt@trade", s="ETHUSDT"), "unknown_stream", "'ethusdt@trade'",
                 id="unsubscribed-symbol"),
    pytest.param(frame(e="aggTrade"), "unexpected_event", "'aggTrade'", id="other-event"),
    pytest.param(frame(p="not-a-number"), "malformed", "field p", id="bad-price"),
    pytest.param(frame(q="-0.5"), "malformed", "qty -0.5 is negative", id="negative-qty"),
    pytest.param(frame(t=None), "malformed", "field t", id="missing-id"),
    pytest.param(frame(s="ETHUSDT"), "malformed", "field s", id="symbol-mismatch"),
    pytest.param(frame(m="yes"), "malformed", "field m", id="bad-flag"),
    pytest.param('{"stream": 5, "data": {}}', "malformed", "not a name", id="bad-stream-name"),
])
def test_frames_that_are_skipped_say_why(text, reason, detail):
    message = decode(text, SUBSCRIBED)
    assert isinstance(message, Skip)
    assert message.reason == reason and detail in message.detail
    assert message.text == text  # logged as received


def test_an_unreadable_trade_still_names_its_id():
    message = decode(frame(p="not-a-number"), SUBSCRIBED)
    assert isinstance(message, Skip)
    assert (message.symbol, message.trade_id) == ("BTCUSDT", 3712345678)
    unnamed = decode(frame(t="x"), SUBSCRIBED)
    assert isinstance(unnamed, Skip) and unnamed.trade_id is None


def test_long_frames_are_truncated_in_the_log():
    message = decode("x" * 5000, SUBSCRIBED)
    assert isinstance(message, Skip) and len(message.text) < 400


@pytest.mark.parametrize("price, qty, quote", [
    pytest.param("67012.34000000", "0.00150000", "100.51851000", id="btc"),
    pytest.param("0.00000812", "900000000.00000000", "7308.00000000", id="pepe"),
    pytest.param("0.00000001", "0.00000001", "0E-8", id="below-8-decimals-rounds"),
])
def test_quote_quantity_is_price_times_qty_at_8_decimals(price, qty, quote):
    message = decode(frame(p=price, q=qty), SUBSCRIBED)
    assert isinstance(message, Trade) and str(message.row[4]) == quote
    assert message.row[4] == Decimal(quote)


def test_stream_names_and_url():
    assert trade_stream("币安人生USDT") == "币安人生usdt@trade"
    assert combined_url("ws://h:1/stream", ["a@trade", "b@trade"]) == \
        "ws://h:1/stream?streams=a@trade/b@trade"


@pytest.mark.parametrize("count, per_connection, url_chars, plan", [
    pytest.param(3, 1024, 4000, [(3, [])], id="all-in-url"),
    pytest.param(5, 2, 4000, [(2, []), (2, []), (1, [])], id="one-connection-per-2"),
    pytest.param(7, 1024, 45, [(3, [3, 1])], id="rest-subscribed-in-batches"),
    pytest.param(0, 1024, 4000, [], id="nothing"),
])
def test_split_streams(count, per_connection, url_chars, plan):
    streams = [f"s{i:03d}usdt@trade" for i in range(count)]  # 15 with the separator
    got = split_streams(streams, per_connection, url_chars)
    assert [(len(url), [len(b) for b in batches]) for url, batches in got] == plan
    assert [s for url, batches in got for s in url + [x for b in batches for x in b]] == streams
