"""Buckets and checksums: the same key lands in the same bucket whichever way it is computed."""

from __future__ import annotations

import pytest

from binance_cdc.datasets import KLINES, LATEST_PRICES, ORDER_BOOK, RECENT_TRADES
from binance_cdc.verify.canonical import NULL
from binance_cdc.verify.spec import BUCKET_PRIMES, Bucketing, TableSpec, bucket_count
from binance_cdc.verify.sums import BucketSums, bucket_function, canonical_rows, row_hash

TRADES = TableSpec.of_dataset(RECENT_TRADES)


@pytest.mark.parametrize(("rows", "expected"), [
    pytest.param(0, BUCKET_PRIMES[0], id="empty"),
    pytest.param(100_000, 1021, id="100k"),
    pytest.param(10_000_000, 65521, id="10M"),
    pytest.param(10**10, BUCKET_PRIMES[-1], id="capped"),
])
def test_bucket_count(rows: int, expected: int) -> None:
    assert bucket_count(rows) == expected


@pytest.mark.parametrize(("dataset", "column"), [
    pytest.param(RECENT_TRADES, "trade_id", id="trades-by-id"),
    pytest.param(KLINES, "open_time", id="klines-by-open-time"),
    pytest.param(ORDER_BOOK, None, id="order-book-by-md5"),
    pytest.param(LATEST_PRICES, None, id="prices-by-md5"),
])
def test_the_last_integer_key_column_buckets_by_value(dataset: object, column: str | None) -> None:
    spec = TableSpec.of_dataset(dataset)  # type: ignore[arg-type]
    position = Bucketing(spec, 251).integer_position
    assert (None if position is None else spec.columns[position]) == column


@pytest.mark.parametrize("dataset", [RECENT_TRADES, ORDER_BOOK], ids=["by-value", "by-md5"])
def test_fast_bucket_function_agrees_with_bucketing(dataset: object) -> None:
    spec = TableSpec.of_dataset(dataset)  # type: ignore[arg-type]
    bucketing = Bucketing(spec, 1021)
    fast = bucket_function(bucketing)
    rows = [tuple(str(n * 7919 + i).encode() for i in range(len(spec.columns))) for n in range(200)]
    assert fast(rows) == [bucketing.of(parts) for parts in rows]
    assert all(0 <= b < 1021 for b in fast(rows))


def test_infinity_in_an_integer_key_column_goes_to_bucket_0_as_in_sql() -> None:
    spec = TableSpec.of_dataset(KLINES)
    parts = [b"X"] * len(spec.columns)
    parts[spec.columns.index("open_time")] = b"infinity"
    assert Bucketing(spec, 251).of(parts) == 0
    assert "ELSE 0" in Bucketing(spec, 251).sql(["x"] * len(spec.columns))


def test_canonical_rows_strips_decimals_marks_nulls_and_splits_off_tokens() -> None:
    page = [(b"X", b"1", b"65000.10000000", b"0.5", b"1E-8", b"1714564800123", b"true", None, -42)]
    assert canonical_rows(page, TRADES.decimal_positions) == (
        [(b"X", b"1", b"65000.1", b"0.5", b"0.00000001", b"1714564800123", b"true", NULL)], [-42])
    assert canonical_rows([], TRADES.decimal_positions) == ([], [])


def test_sums_differ_exactly_where_rows_do() -> None:
    bucket = bucket_function(Bucketing(TRADES, 251))
    rows = [(b"X", str(n).encode(), b"1.5", b"2", b"3", b"0", b"true", b"true") for n in range(1000)]
    ours, theirs = BucketSums(251), BucketSums(251)
    ours.add_all(bucket(rows), rows)
    theirs.add_all(bucket(rows[::-1]), rows[::-1], range(1000))  # order does not matter
    assert ours.differing(theirs) == [] and ours.total == 1000
    changed = list(rows)
    changed[500] = (b"X", b"500", b"1.6", b"2", b"3", b"0", b"true", b"true")
    theirs = BucketSums(251)
    theirs.add_all(bucket(changed[:-1]), changed[:-1])
    assert ours.differing(theirs) == sorted({500 % 251, 999 % 251})


def test_token_xor_of_a_bucket_names_its_one_unexplained_row() -> None:
    sums = BucketSums(1)
    sums.add_all([0, 0, 0], [(b"a",), (b"b",), (b"c",)], [-(2**63) + 5, 17, 2**62])
    left = sums.tokens[0] ^ (-(2**63) + 5) ^ 2**62  # the rows found by key
    assert left == 17


def test_postgres_signed_xor_compares_equal_to_ours() -> None:
    sums = BucketSums(3)
    value = row_hash([b"a"])
    sums.set(1, 1, value - (1 << 64) if value >= 1 << 63 else value)
    mine = BucketSums(3)
    mine.rows[1], mine.xor[1] = 1, value
    assert sums.differing(mine) == []
