"""Decoding Kafka records into change events and their one-line summary."""

from __future__ import annotations

import json

import pytest

from binance_cdc.kafka.client import change_topic
from binance_cdc.kafka.events import decode_record
from binance_cdc.settings import KafkaSettings

ENVELOPE = {"before": None, "after": {"symbol": "BTCUSDT", "price": "1.5"}, "op": "c",
            "ts_ms": 1700000000200,
            "source": {"lsn": 123, "ts_ms": 1700000000100, "txId": 9, "table": "latest_prices",
                       "snapshot": "false", "connector": "postgresql"}}


def record(value: object, key: object = {"symbol": "BTCUSDT"}) -> bytes | None:
    return None if value is None else json.dumps(value).encode()


def test_an_envelope_summary_has_key_op_images_and_source() -> None:
    event = decode_record("t", 0, 5, 1700000000300, record({"symbol": "BTCUSDT"}),
                          record(ENVELOPE))
    assert event.op == "c"
    assert (event.source_lsn, event.source_ts_ms) == (123, 1700000000100)
    assert event.summary() == {
        "topic": "t", "partition": 0, "offset": 5, "timestamp_ms": 1700000000300,
        "key": {"symbol": "BTCUSDT"}, "op": "c", "before": None,
        "after": {"symbol": "BTCUSDT", "price": "1.5"},
        "source": {"lsn": 123, "ts_ms": 1700000000100, "txId": 9, "table": "latest_prices",
                   "snapshot": "false"}}


def test_a_tombstone_has_no_op() -> None:
    event = decode_record("t", 0, 6, 1, record({"symbol": "BTCUSDT"}), None)
    assert event.op is None
    assert event.summary()["tombstone"] is True


def test_schema_payload_form_is_unwrapped() -> None:
    event = decode_record("t", 0, 0, 1, None, record({"schema": {}, "payload": ENVELOPE}))
    assert event.op == "c" and event.key is None


@pytest.mark.parametrize("raw", [b"not json", b'{"id": 1}', b"[1, 2]"],
                         ids=["text", "object-without-op", "list"])
def test_other_values_are_shown_as_they_are(raw: bytes) -> None:
    event = decode_record("t", 0, 0, None, None, raw)
    assert event.op is None
    assert event.summary()["value"] == (raw.decode() if raw == b"not json" else json.loads(raw))


@pytest.mark.parametrize(("name", "expected"), [
    ("latest_prices", "binance.binance.latest_prices"),
    ("binance.binance.klines", "binance.binance.klines"),
])
def test_change_topic(name: str, expected: str) -> None:
    assert change_topic(KafkaSettings(), "binance", name) == expected
