"""Per-bucket checksums: how many rows fell in each bucket and the XOR of their hashes.

This is all that is kept of a table while it is read, whatever its size: two
integers per bucket. Equal rows hash alike on both sides, so a bucket whose
count and XOR agree holds the same rows (up to a 2^-64 chance); a bucket that
differs is read again row by row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from binance_cdc.verify.canonical import NULL, SEPARATOR, cassandra_decimal
from binance_cdc.verify.spec import Bucketing

MASK64 = (1 << 64) - 1

Parts = tuple[bytes, ...]


def bucket_function(bucketing: Bucketing) -> Callable[[Sequence[bytes]], int]:
    """A fast ``parts -> bucket`` for the hot loop (same result as ``bucketing.of``)."""
    n = bucketing.count
    position = bucketing.integer_position
    if position is None:
        key_positions = bucketing.spec.key_positions
        md5 = hashlib.md5

        def by_hash(parts: Sequence[bytes]) -> int:
            key = SEPARATOR.join([parts[i] for i in key_positions])
            return int.from_bytes(md5(key).digest()[:4], "big") % n
        return by_hash

    def by_value(parts: Sequence[bytes]) -> int:
        try:
            return int(parts[position]) % n
        except ValueError:
            return 0
    return by_value


def row_hash(parts: Sequence[bytes]) -> int:
    return int.from_bytes(hashlib.md5(SEPARATOR.join(parts)).digest()[:8], "big")


class BucketSums:
    """Row count and XOR of row hashes per bucket."""

    def __init__(self, count: int) -> None:
        self.rows = [0] * count
        self.xor = [0] * count

    @property
    def total(self) -> int:
        return sum(self.rows)

    def add_all(self, bucket: Callable[[Sequence[bytes]], int], rows: Iterable[Sequence[bytes]]) -> None:
        counts, xors = self.rows, self.xor
        md5, join, from_bytes = hashlib.md5, SEPARATOR.join, int.from_bytes
        rows = rows if isinstance(rows, list) else list(rows)
        hashes = [from_bytes(md5(join(parts)).digest()[:8], "big") for parts in rows]
        for b, h in zip(map(bucket, rows), hashes):
            counts[b] += 1
            xors[b] ^= h

    def set(self, bucket: int, rows: int, xor: int) -> None:
        self.rows[bucket] = rows
        self.xor[bucket] = xor & MASK64

    def differing(self, other: BucketSums) -> list[int]:
        """Buckets whose count or XOR differ from ``other``'s."""
        return [b for b, (n, x, m, y) in enumerate(zip(self.rows, self.xor, other.rows, other.xor))
                if n != m or x != y]


def canonical_rows(rows: Sequence[Sequence[bytes | None]],
                   decimal_positions: Sequence[int]) -> list[Parts]:
    """A page of Cassandra rows (bytes from :func:`canonical.cql_selector`) -> canonical parts.

    Column by column: joining a column finds a NULL (TypeError) and a decimal in Java's
    exponent form at C speed, so the common row costs two rstrips per decimal.
    """
    if not rows:
        return []
    columns: list[Sequence[bytes | None]] = list(zip(*rows))
    for i, column in enumerate(columns):
        try:
            joined = b"".join(column)  # type: ignore[arg-type]
        except TypeError:
            column = columns[i] = [NULL if v is None else v for v in column]
            joined = b"".join(column)  # type: ignore[arg-type]
        if i in decimal_positions:
            if b"E" in joined:
                columns[i] = [cassandra_decimal(v) for v in column]  # type: ignore[arg-type]
            else:
                columns[i] = [v.rstrip(b"0").rstrip(b".") if b"." in v else v  # type: ignore[union-attr]
                              for v in column]
    return list(zip(*columns))  # type: ignore[arg-type]
