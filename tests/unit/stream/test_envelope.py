"""Debezium envelope -> Change/Skip/BadRecord, table-driven, no Kafka or Spark."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from binance_cdc.stream.envelope import BadRecord, Change, Skip, convert, parse_record

TOPIC = "binance.binance.latest_prices"


def envelope(op: str, before: dict | None, after: dict | None, lsn: int = 100,
             table: str = "latest_prices") -> bytes:
    return json.dumps({
        "before": before, "after": after, "op": op, "ts_ms": 1_700_000_000_500,
        "source": {"table": table, "lsn": lsn, "ts_ms": 1_700_000_000_000, "snapshot": "false"},
    }).encode()


PRICE = {"symbol": "BTCUSDT", "price": "0.00000001", "updated_at": "2024-02-29T23:59:59.999999Z"}
KEY = json.dumps({"symbol": "BTCUSDT"}).encode()


def parse(value: bytes | None, topic: str = TOPIC, key: bytes | None = KEY) -> Change | Skip:
    return parse_record(topic, key, value, prefix="binance", schema="binance")


@pytest.mark.parametrize("op", ["c", "r", "u"])
def test_create_read_and_update_become_upserts_of_the_after_image(op: str) -> None:
    change = parse(envelope(op, None, PRICE, lsn=4242))
    assert isinstance(change, Change)
    assert (change.op, change.source_op, change.lsn) == ("upsert", op, 4242)
    assert change.key == {"symbol": "BTCUSDT"}
    assert change.row == {"symbol": "BTCUSDT", "price": Decimal("0.00000001"),
                          "updated_at": dt.datetime(2024, 2, 29, 23, 59, 59, 999999,
                                                    tzinfo=dt.timezone.utc)}
    assert change.source_ts_ms == 1_700_000_000_000


def test_an_incremental_snapshot_read_without_lsn_is_written_fill_only() -> None:
    raw = json.loads(envelope("r", None, PRICE))
    raw["source"].update(lsn=None, snapshot="incremental")
    change = parse(json.dumps(raw).encode())
    assert (change.op, change.lsn) == ("upsert", 0)


def test_changes_of_debeziums_helper_tables_are_skipped() -> None:
    assert parse(envelope("c", None, {"id": "x"}, table="debezium_signal"),
                 topic="binance.binance.debezium_signal") == Skip("helper-table")


def test_delete_becomes_a_delete_by_the_record_key() -> None:
    change = parse(envelope("d", PRICE, None, lsn=7))
    assert (change.op, change.key, change.row, change.lsn) == ("delete", {"symbol": "BTCUSDT"},
                                                               None, 7)
    assert change.before["price"] == Decimal("0.00000001")


def test_delete_without_a_record_key_uses_the_before_image() -> None:
    change = parse(envelope("d", {"symbol": "ETHUSDT"}, None), key=None)
    assert change.key == {"symbol": "ETHUSDT"}


@pytest.mark.parametrize(("value", "topic", "reason"), [
    (None, TOPIC, "tombstone"),
    (b"", TOPIC, "tombstone"),
    (b'{"ts_ms": 1700000000000}', "__debezium-heartbeat.binance", "heartbeat"),
    (b'{"ts_ms": 1700000000000}', TOPIC, "heartbeat"),
], ids=["null-value", "empty-value", "heartbeat-topic", "heartbeat-shaped"])
def test_records_without_a_row_change_are_skipped(value, topic, reason) -> None:
    assert parse(value, topic=topic) == Skip(reason)


@pytest.mark.parametrize(("value", "topic", "message"), [
    (b"not json", TOPIC, "not JSON"),
    (b"\xff\xfe", TOPIC, "not JSON"),
    (b"[1, 2]", TOPIC, "not an object"),
    (envelope("c", None, PRICE), "binance.binance.unknown_table", "not a table"),
    (envelope("x", None, PRICE), TOPIC, "unsupported op"),
    (envelope("c", None, None), TOPIC, "without an after image"),
    (envelope("c", None, {"symbol": "BTCUSDT", "price": "1"}), TOPIC, "after.updated_at is missing"),
    (envelope("c", None, {**PRICE, "price": 1.5}), TOPIC, "expected a decimal string"),
    (envelope("c", None, {**PRICE, "price": "abc"}), TOPIC, "not a decimal"),
    (envelope("c", None, {**PRICE, "price": "NaN"}), TOPIC, "must be finite"),
    (envelope("c", None, {**PRICE, "updated_at": "yesterday"}), TOPIC, "not an ISO-8601"),
    (envelope("c", None, {**PRICE, "symbol": None}), TOPIC, "after.symbol is null"),
    (json.dumps({"op": "c", "after": PRICE}).encode(), TOPIC, "no source block"),
    (envelope("c", None, PRICE, table="klines"), TOPIC, "does not match topic"),
], ids=["text", "bad-utf8", "array", "unknown-table", "bad-op", "no-after", "missing-field",
        "float-price", "word-price", "nan-price", "bad-time", "null-key", "no-source",
        "wrong-table"])
def test_bad_records_raise_with_what_is_wrong(value, topic, message) -> None:
    with pytest.raises(BadRecord, match=message):
        parse(value, topic=topic)


def test_a_column_added_in_postgres_is_ignored_and_reported() -> None:
    change = parse(envelope("u", None, {**PRICE, "venue": "spot"}))
    assert change.unknown_columns == ("venue",)
    assert "venue" not in change.row


@pytest.mark.parametrize(("kind", "raw", "expected"), [
    ("decimal", "123456789.12345678", Decimal("123456789.12345678")),
    ("decimal", "0.00000000000000000001", Decimal("1E-20")),
    ("decimal", "99999999999999999999999999999999.5", Decimal("99999999999999999999999999999999.5")),
    ("bigint", 9_007_199_254_740_993, 9_007_199_254_740_993),
    ("boolean", False, False),
    ("text", "币安人生USDT", "币安人生USDT"),
    ("timestamp", "2024-01-01T00:00:00Z", dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)),
])
def test_values_convert_exactly(kind, raw, expected) -> None:
    assert convert(kind, raw, "f") == expected


@pytest.mark.parametrize(("kind", "raw"), [("bigint", True), ("bigint", "12"), ("boolean", 1),
                                          ("text", 5), ("timestamp", "2024-01-01T00:00:00")])
def test_values_of_the_wrong_type_are_rejected(kind, raw) -> None:
    with pytest.raises(BadRecord):
        convert(kind, raw, "f")
