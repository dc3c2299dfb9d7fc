"""Both sides' values reduce to the same canonical form, by declared kind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from binance_cdc.datasets import LATEST_PRICES, ORDER_BOOK
from binance_cdc.verify.normalize import RowCodec, canonical_decimal, epoch_ms

UTC = dt.timezone.utc


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(Decimal("1.10"), "1.1", id="trailing-zero"),
    pytest.param(Decimal("1.1"), "1.1", id="plain"),
    pytest.param(Decimal("100"), "100", id="integer-stays-plain"),
    pytest.param(Decimal("1E+2"), "100", id="exponent-form"),
    pytest.param(Decimal("0E-8"), "0", id="zero-with-scale"),
    pytest.param(Decimal("-0.000"), "0", id="negative-zero"),
    pytest.param(Decimal("0.00000001"), "0.00000001", id="satoshi"),
    pytest.param(Decimal("123456789012345678901234567890.123456789"),
                 "123456789012345678901234567890.123456789", id="wider-than-28-digits-no-rounding"),
    pytest.param(Decimal("NaN"), "NaN", id="nan"),
])
def test_canonical_decimal(value: Decimal, expected: str) -> None:
    assert canonical_decimal(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), 1714564800123,
                 id="aware-us-truncated"),
    pytest.param(dt.datetime(2024, 5, 1, 12, 0, 0, 123000), 1714564800123, id="naive-is-utc"),
    pytest.param(dt.datetime(2024, 5, 1, 14, 0, 0, 123999,
                             tzinfo=dt.timezone(dt.timedelta(hours=2))), 1714564800123,
                 id="other-offset"),
    pytest.param(dt.datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC), -1, id="floor-pre-epoch"),
])
def test_epoch_ms(value: dt.datetime, expected: int) -> None:
    assert epoch_ms(value) == expected


def test_postgres_and_cassandra_shapes_of_one_row_hash_alike() -> None:
    codec = RowCodec(ORDER_BOOK)
    postgres = ("BTCUSDT", "bid", Decimal("65000.10"), Decimal("1.500"), 42,
                dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC))
    cassandra = ("BTCUSDT", "bid", Decimal("65000.1"), Decimal("1.5"), 42,
                 dt.datetime(2024, 5, 1, 12, 0, 0, 123000))
    assert codec.key_and_hash(postgres) == codec.key_and_hash(cassandra)


@pytest.mark.parametrize(("changed", "value"), [
    pytest.param(1, Decimal("1.2"), id="decimal"),
    pytest.param(2, dt.datetime(2024, 5, 1, 12, 0, 0, 124000), id="timestamp-next-ms"),
    pytest.param(2, None, id="null"),
])
def test_a_changed_value_changes_the_hash_not_the_key(changed: int, value: object) -> None:
    codec = RowCodec(LATEST_PRICES)
    row = ["ETHUSDT", Decimal("1.1"), dt.datetime(2024, 5, 1, 12, 0, 0, 123000)]
    other = list(row)
    other[changed] = value
    (key, digest), (other_key, other_digest) = codec.key_and_hash(row), codec.key_and_hash(other)
    assert key == other_key == ("ETHUSDT",)
    assert digest != other_digest


def test_text_is_exact_and_null_is_not_empty() -> None:
    codec = RowCodec(LATEST_PRICES)
    when = dt.datetime(2024, 5, 1)
    assert codec.key_and_hash(["a", Decimal(1), when])[1] != \
        codec.key_and_hash(["A", Decimal(1), when])[1]
    assert codec.canonical([None, Decimal(1), when])[0] is None
    assert codec.canonical(["", Decimal(1), when])[0] == ""


def test_display_key_shows_timestamps_as_iso() -> None:
    from binance_cdc.datasets import KLINES

    codec = RowCodec(KLINES)
    assert codec.display_key(("BTCUSDT", "1m", "1714564800123")) == {
        "symbol": "BTCUSDT", "interval": "1m", "open_time": "2024-05-01T12:00:00.123Z"}
