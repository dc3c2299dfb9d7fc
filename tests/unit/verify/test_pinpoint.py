"""Finding Cassandra's rows of differing buckets by key, and its unexpected ones by token."""

from __future__ import annotations

from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.verify.pinpoint import pinpoint
from binance_cdc.verify.spec import TableSpec
from binance_cdc.verify.sums import BucketSums

SPEC = TableSpec.of_dataset(RECENT_TRADES)
BUCKETS = 5


def trade(n: int, price: bytes = b"1.5") -> tuple[bytes, ...]:
    return (b"X", str(n).encode(), price, b"2", b"3", b"1714564800123", b"true", b"true")


def buckets_of(rows: list[tuple[bytes, ...]]) -> list[int]:
    return [int(p[1]) % BUCKETS for p in rows]


class FakeReads:
    """A table of one row per partition, token = 1000 * trade id (a stand-in for Cassandra)."""

    def __init__(self, rows: list[tuple[bytes, ...]]) -> None:
        self.rows = {SPEC.key_of(r): (*r, 1000 * int(r[1])) for r in rows}
        self.token_reads: list[int] = []
        self.key_reads = 0

    def by_keys(self, keys: list[tuple[bytes, ...]]) -> list[tuple[object, ...]]:
        self.key_reads += len(keys)
        return [self.rows[k] for k in keys if k in self.rows]

    def by_token(self, token: int) -> list[list[tuple[object, ...]]]:
        self.token_reads.append(token)
        return [[r] for r in self.rows.values() if r[-1] == token]  # a page per row


def sums_of(reads: FakeReads) -> BucketSums:
    sums = BucketSums(BUCKETS)
    rows = [r[:-1] for r in reads.rows.values()]
    sums.add_all(buckets_of(rows), rows, [r[-1] for r in reads.rows.values()])  # type: ignore[misc]
    return sums


def test_missing_different_and_one_extra_per_bucket_are_found_without_a_scan() -> None:
    cassandra = [trade(n) for n in range(20) if n != 3] + [trade(25)]
    cassandra[4] = trade(5, price=b"9")  # n=5 sits at index 4 once 3 is gone
    reads = FakeReads(cassandra)
    postgres = [trade(n) for n in range(20)]
    differing = [3 % BUCKETS, 5 % BUCKETS]  # 25 lands in bucket 0 with 5
    expected = [p for p in postgres if int(p[1]) % BUCKETS in differing]

    found = pinpoint(reads, SPEC, buckets_of, sums_of(reads), differing, expected)  # type: ignore[arg-type]

    assert found.unresolved == [] and found.resolved == {0, 3}
    assert sorted(int(p[1]) for p in found.rows) == [0, 5, 8, 10, 13, 15, 18, 25]
    assert reads.token_reads == [25_000]


def test_two_unexpected_rows_in_a_bucket_are_left_to_a_scan() -> None:
    reads = FakeReads([trade(n) for n in range(10)] + [trade(21), trade(26)])
    expected = [trade(n) for n in range(10) if n % BUCKETS == 1]

    found = pinpoint(reads, SPEC, buckets_of, sums_of(reads), [1], expected)  # type: ignore[arg-type]

    assert found.unresolved == [1] and found.rows == []


def test_rows_of_other_symbols_in_the_partition_are_not_taken_for_the_unexpected_one() -> None:
    other = (b"Y", *trade(26)[1:])
    reads = FakeReads([trade(1), trade(26)])
    sums = sums_of(reads)
    reads.rows[SPEC.key_of(other)] = (*other, 26_000)  # same token, not counted (filtered out)

    found = pinpoint(reads, SPEC, buckets_of, sums, [1], [trade(1)],  # type: ignore[arg-type]
                     keep=lambda p: p[0] == b"X")

    assert found.resolved == {1} and sorted(p[:2] for p in found.rows) == [(b"X", b"1"), (b"X", b"26")]


def test_a_bucket_cassandra_has_nothing_in_is_not_read_key_by_key() -> None:
    reads = FakeReads([trade(n) for n in range(10) if n % BUCKETS != 2])
    expected = [trade(n) for n in range(10) if n % BUCKETS == 2]

    found = pinpoint(reads, SPEC, buckets_of, sums_of(reads), [2], expected)  # type: ignore[arg-type]

    assert found.resolved == {2} and found.rows == [] and reads.key_reads == 0
