"""Each value has one canonical text, whichever side it comes from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from binance_cdc.verify.canonical import (
    NULL,
    canonical_decimal,
    canonical_value,
    cassandra_decimal,
    decode,
    display,
    epoch_ms,
    json_key_value,
    sql_literal,
    sql_text,
    unrepresentable,
)

UTC = dt.timezone.utc


@pytest.mark.parametrize(("java", "expected"), [
    pytest.param(b"65000.10000000", b"65000.1", id="binance-trailing-zeros"),
    pytest.param(b"1.50", b"1.5", id="one-zero"),
    pytest.param(b"100", b"100", id="integer-keeps-its-zeros"),
    pytest.param(b"100.0", b"100", id="integer-with-scale"),
    pytest.param(b"0.00000000", b"0", id="zero-plain"),
    pytest.param(b"0E-8", b"0", id="zero-exponent"),
    pytest.param(b"1E-8", b"0.00000001", id="satoshi-exponent"),
    pytest.param(b"5.0E-7", b"0.0000005", id="small-exponent"),
    pytest.param(b"1E+2", b"100", id="negative-scale"),
    pytest.param(b"-0.50", b"-0.5", id="negative"),
    pytest.param(b"123456789012345678901234567890.123456789000", b"123456789012345678901234567890.123456789",
                 id="wide"),
])
def test_cassandra_decimal_text_is_trimmed_like_postgres_trim_scale(java: bytes, expected: bytes) -> None:
    assert cassandra_decimal(java) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(Decimal("1.10"), "1.1", id="trailing-zero"),
    pytest.param(Decimal("1E+2"), "100", id="exponent-form"),
    pytest.param(Decimal("-0.000"), "0", id="negative-zero"),
    pytest.param(Decimal("0.00000001"), "0.00000001", id="satoshi"),
    pytest.param(Decimal("123456789012345678901234567890.123456789"),
                 "123456789012345678901234567890.123456789", id="wider-than-28-digits-no-rounding"),
    pytest.param(Decimal("NaN"), "NaN", id="nan"),
    pytest.param(Decimal("Infinity"), "Infinity", id="infinity"),
    pytest.param(Decimal("-Infinity"), "-Infinity", id="minus-infinity"),
])
def test_canonical_decimal_matches_postgres(value: Decimal, expected: str) -> None:
    assert canonical_decimal(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), 1714564800123, id="us-floored"),
    pytest.param(dt.datetime(2024, 5, 1, 12, 0, 0, 123000), 1714564800123, id="naive-is-utc"),
    pytest.param(dt.datetime(2024, 5, 1, 14, 0, 0, 123999, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                 1714564800123, id="other-offset"),
    pytest.param(dt.datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC), -1, id="floor-pre-epoch"),
])
def test_epoch_ms(value: dt.datetime, expected: int) -> None:
    assert epoch_ms(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(b"as-is", b"as-is", id="bytes-are-canonical-already"),
    pytest.param(None, NULL, id="null"),
    pytest.param(True, b"true", id="bool-before-int"),
    pytest.param(42, b"42", id="int"),
    pytest.param(Decimal("3.1400"), b"3.14", id="decimal"),
    pytest.param(dt.datetime(2024, 5, 1, 12, 0, 0, 123999, tzinfo=UTC), b"1714564800123", id="datetime"),
    pytest.param(dt.date(2024, 5, 1), b"2024-05-01", id="date"),
    pytest.param("币安人生USDT", "币安人生USDT".encode(), id="text"),
])
def test_canonical_value(value: object, expected: bytes) -> None:
    assert canonical_value(value) == expected


def test_canonical_value_refuses_types_it_cannot_compare() -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_value(1.5)


@pytest.mark.parametrize("kind", ["text", "decimal", "bigint", "boolean", "timestamp", "date"])
def test_decode_then_canonical_value_round_trips(kind: str) -> None:
    text = {"text": b"BTCUSDT", "decimal": b"65000.1", "bigint": b"-7", "boolean": b"true",
            "timestamp": b"1714564800123", "date": b"2024-05-01"}[kind]
    assert canonical_value(decode(text, kind)) == text  # type: ignore[arg-type]


def test_decoded_timestamps_are_aware_utc_like_the_streams() -> None:
    moment = decode(b"1714564800123", "timestamp")
    assert moment == dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert moment.tzinfo is not None  # type: ignore[union-attr]


def test_display() -> None:
    assert display(b"1714564800123", "timestamp") == "2024-05-01T12:00:00.123Z"
    assert display(b"infinity", "timestamp") == "infinity"
    assert display(NULL, "text") is None
    assert display(b"1.5", "decimal") == "1.5"


@pytest.mark.parametrize(("value", "kind", "expected"), [
    pytest.param("X", "text", b"X", id="text"),
    pytest.param(17, "bigint", b"17", id="bigint"),
    pytest.param("65000.10000000", "decimal", b"65000.1", id="decimal-string"),
    pytest.param("2024-05-01T12:00:00.123456Z", "timestamp", b"1714564800123", id="zoned-timestamp"),
    pytest.param("infinity", "timestamp", b"infinity", id="infinity"),
    pytest.param("-infinity", "timestamp", b"-infinity", id="minus-infinity"),
])
def test_json_key_values_as_debezium_writes_them(value: object, kind: str, expected: bytes) -> None:
    assert json_key_value(value, kind) == expected  # type: ignore[arg-type]


def test_unrepresentable() -> None:
    assert unrepresentable((b"X", b"NaN"))
    assert unrepresentable((b"X", b"infinity"))
    assert not unrepresentable((b"X", b"1.5", b"Infinity-not"))


def test_sql_pieces() -> None:
    assert sql_literal(b"a\x1fb'") == "E'a\\x1fb\\x27'"
    assert sql_text("price", "decimal") == 'trim_scale("price")::text'
    assert sql_text("note", "text", nullable=True).startswith('coalesce("note", E\'')
    assert "isfinite" in sql_text("trade_time", "timestamp")
