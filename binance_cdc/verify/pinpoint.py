"""The Cassandra rows of a few differing buckets, without reading the table again.

A bucket is a set of keys, not a place in Cassandra, so its rows cannot be
asked for directly. But the expected rows of a differing bucket are known
(Postgres returns them by bucket; a query table's are derived), so their keys
are read one by one. What Cassandra holds besides them shows in the bucket's
checksums: its count says how many rows are left, the XOR of its rows'
partition tokens says where one such row lives — read that partition and it
is found. A bucket with two or more unexpected rows, or too many rows for key
reads, is left to a scan (drill.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from binance_cdc.verify.scan import KeyedReads
from binance_cdc.verify.spec import TableSpec
from binance_cdc.verify.sums import BucketSums, Parts, canonical_rows, row_hash

MAX_KEY_READS = 20_000
"""More expected rows than this in the differing buckets: scanning is cheaper."""


@dataclass
class Pinpointed:
    rows: list[Parts] = field(default_factory=list)
    """Cassandra's rows of the resolved buckets."""
    resolved: set[int] = field(default_factory=set)
    unresolved: list[int] = field(default_factory=list)
    """Buckets whose rows only a scan can find."""


def pinpoint(reads: KeyedReads, spec: TableSpec, buckets_of: Callable[[Sequence[Parts]], list[int]],
             sums: BucketSums, differing: Sequence[int], expected: Sequence[Parts], *,
             keep: Callable[[Parts], bool] | None = None) -> Pinpointed:
    """Cassandra's rows in ``differing`` buckets, given the rows expected there.

    ``keep`` says which rows the checksums counted (the symbol filter).
    """
    key_of = spec.key_of
    # A bucket Cassandra has no row in needs no reads: everything expected there is missing.
    raw = reads.by_keys(list({key_of(p) for p, b in zip(expected, buckets_of(expected))
                              if sums.rows[b]}))
    found, tokens = canonical_rows(raw, spec.decimal_positions)
    left = {b: [sums.rows[b], sums.xor[b], sums.tokens[b]] for b in differing}
    for parts, bucket, token in zip(found, buckets_of(found), tokens):
        rest = left.get(bucket)
        if rest is not None:
            rest[0] -= 1
            rest[1] ^= row_hash(parts)
            rest[2] ^= token
    result = Pinpointed(rows=found)
    known = {key_of(p) for p in found}
    for bucket, (count, digest, token) in left.items():
        if count <= 0:  # nothing else (fewer: rows written since the checksums; read as they are)
            result.resolved.add(bucket)
            continue
        if count == 1:
            strays = []
            for page in reads.by_token(token):
                rows, _ = canonical_rows(page, spec.decimal_positions)
                strays += [p for p, b in zip(rows, buckets_of(rows))
                           if b == bucket and key_of(p) not in known and (keep is None or keep(p))]
            if len(strays) == 1 and row_hash(strays[0]) == digest:
                result.rows += strays
                result.resolved.add(bucket)
                continue
        result.unresolved.append(bucket)
    result.rows = [p for p, b in zip(result.rows, buckets_of(result.rows)) if b in result.resolved]
    return result
