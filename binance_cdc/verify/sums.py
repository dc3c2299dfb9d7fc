"""Per-bucket checksums: how many rows fell in each bucket and the XOR of their hashes.

This is all that is kept of a table while it is read, whatever its size: two
integers per bucket. Equal rows hash alike on both sides, so a bucket whose
count and XOR agree holds the same rows (up to a 2^-64 chance); a bucket that
differs is read again row by row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from binance_cdc.verify.canonical import NULL, SEPARATOR, cassandra_decimal
from binance_cdc.verify.spec import Bucketing

MASK64 = (1 << 64) - 1

Parts = tuple[bytes, ...]


BucketsOf = Callable[[Sequence[Sequence[bytes]]], list[int]]
"""A page of canonical rows -> the bucket of each."""


def bucket_function(bucketing: Bucketing) -> BucketsOf:
    """A fast page-at-a-time ``bucketing.of`` for the hot loop (same results)."""
    n = bucketing.count
    position = bucketing.integer_position
    if position is None:
        key = itemgetter(*bucketing.spec.key_positions)
        single = len(bucketing.spec.key_positions) == 1
        md5, join, from_bytes = hashlib.md5, SEPARATOR.join, int.from_bytes

        def by_hash(rows: Sequence[Sequence[bytes]]) -> list[int]:
            if single:
                return [from_bytes(md5(key(p)).digest()[:4], "big") % n for p in rows]
            return [from_bytes(md5(join(key(p))).digest()[:4], "big") % n for p in rows]
        return by_hash

    def by_value(rows: Sequence[Sequence[bytes]]) -> list[int]:
        try:
            return [int(p[position]) % n for p in rows]
        except ValueError:  # 'infinity' and the like, Postgres only: bucket 0, as in SQL
            return [bucketing.of(p) for p in rows]
    return by_value


def row_hash(parts: Sequence[bytes]) -> int:
    return int.from_bytes(hashlib.md5(SEPARATOR.join(parts), usedforsecurity=False).digest()[:8], "big")


class BucketSums:
    """Row count and XOR of row hashes per bucket; for Cassandra also the XOR of the rows'
    partition tokens, which names the partition of a bucket's one unexpected row."""

    def __init__(self, count: int) -> None:
        self.rows = [0] * count
        self.xor = [0] * count
        self.tokens = [0] * count

    @property
    def total(self) -> int:
        return sum(self.rows)

    def add_all(self, buckets: Sequence[int], rows: Sequence[Sequence[bytes]],
                tokens: Sequence[int] | None = None) -> None:
        counts, xors, toks = self.rows, self.xor, self.tokens
        md5, join, from_bytes = hashlib.md5, SEPARATOR.join, int.from_bytes
        hashes = [from_bytes(md5(join(parts)).digest()[:8], "big") for parts in rows]
        if tokens is None:
            for b, h in zip(buckets, hashes):
                counts[b] += 1
                xors[b] ^= h
            return
        for b, h, t in zip(buckets, hashes, tokens):
            counts[b] += 1
            xors[b] ^= h
            toks[b] ^= t

    def set(self, bucket: int, rows: int, xor: int) -> None:
        self.rows[bucket] = rows
        self.xor[bucket] = xor & MASK64

    def differing(self, other: BucketSums) -> list[int]:
        """Buckets whose count or XOR differ from ``other``'s."""
        return [b for b, (n, x, m, y) in enumerate(zip(self.rows, self.xor, other.rows, other.xor))
                if n != m or x != y]


def canonical_rows(rows: Sequence[Sequence[object]],
                   decimal_positions: Sequence[int]) -> tuple[list[Parts], list[int]]:
    """A page of Cassandra rows (bytes from :func:`canonical.cql_selector`, the partition
    token last) -> (canonical parts, tokens).

    Column by column: joining a column finds a NULL (TypeError) and a decimal in Java's
    exponent form at C speed, so the common row costs two rstrips per decimal.
    """
    if not rows:
        return [], []
    # Any: a column holds bytes and None until its NULLs are replaced below.
    columns: list[Sequence[Any]] = list(zip(*rows))
    tokens: list[int] = list(columns.pop())
    for i, column in enumerate(columns):
        try:
            joined = b"".join(column)
        except TypeError:
            column = columns[i] = [NULL if v is None else v for v in column]
            joined = b"".join(column)
        if i in decimal_positions:
            if b"E" in joined:
                columns[i] = [cassandra_decimal(v) for v in column]
            else:
                columns[i] = [v.rstrip(b"0").rstrip(b".") if b"." in v else v
                              for v in column]
    return list(zip(*columns)), tokens
