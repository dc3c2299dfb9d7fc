"""Row-for-row comparison of one table, independent of where the rows come from.

One side (Cassandra, whose scan order is the token ring's) is loaded into a
dict key -> 16-byte row hash; the other (Postgres) is streamed past it and each
of its keys is popped from the dict. Memory is one side's keys and hashes,
never its rows, and each row is hashed once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from binance_cdc.datasets import Dataset
from binance_cdc.verify.normalize import Key, RowCodec

SAMPLE_KEYS = 5


@dataclass(frozen=True)
class TableDiff:
    """How one replica table differs from its Postgres table."""

    table: str
    postgres_rows: int
    cassandra_rows: int
    missing: int
    """Rows in Postgres that Cassandra lacks."""
    extra: int
    """Rows in Cassandra that Postgres no longer (or never) had."""
    different: int
    """Rows on both sides whose replicated columns differ."""
    sample_missing: tuple[dict[str, str | None], ...] = ()
    sample_extra: tuple[dict[str, str | None], ...] = ()
    sample_different: tuple[dict[str, str | None], ...] = ()
    seconds: float = 0.0
    error: str | None = None
    """Set when a side could not be read; the counts are then meaningless."""

    @property
    def matches(self) -> bool:
        return self.error is None and self.missing == self.extra == self.different == 0


@dataclass(frozen=True)
class VerifyResult:
    """The comparison of every table asked for."""

    tables: tuple[TableDiff, ...]
    attempts: int = 1
    elapsed_s: float = 0.0
    symbols: tuple[str, ...] | None = None
    """The symbol filter, if the comparison was restricted to some symbols."""

    @property
    def matches(self) -> bool:
        return all(t.matches for t in self.tables)

    def table(self, name: str) -> TableDiff:
        return next(t for t in self.tables if t.table == name)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``--json``)."""
        data = asdict(self)
        data["matches"] = self.matches
        for table, diff in zip(data["tables"], self.tables, strict=True):
            table["matches"] = diff.matches
        return data


def load_side(codec: RowCodec, rows: Iterable[Sequence[object]]) -> dict[Key, bytes]:
    """Key -> row hash of every row (a duplicate key keeps the last row)."""
    return dict(codec.key_and_hash(row) for row in rows)


def compare_rows(dataset: Dataset, postgres_rows: Iterable[Sequence[object]],
                 cassandra_rows: Iterable[Sequence[object]], *,
                 samples: int = SAMPLE_KEYS) -> TableDiff:
    """Compare two row streams of ``dataset`` (values in the dataset's column order).

    ``cassandra_rows`` is read completely first, then ``postgres_rows`` streamed.
    """
    started = time.monotonic()
    codec = RowCodec(dataset)
    replica = load_side(codec, cassandra_rows)
    cassandra_count = len(replica)
    postgres_count = missing = different = 0
    sample_missing: list[Key] = []
    sample_different: list[Key] = []
    for row in postgres_rows:
        postgres_count += 1
        key, digest = codec.key_and_hash(row)
        theirs = replica.pop(key, None)
        if theirs is None:
            missing += 1
            if len(sample_missing) < samples:
                sample_missing.append(key)
        elif theirs != digest:
            different += 1
            if len(sample_different) < samples:
                sample_different.append(key)
    sample_extra = [key for key, _ in zip(replica, range(samples))]
    return TableDiff(
        table=dataset.name, postgres_rows=postgres_count, cassandra_rows=cassandra_count,
        missing=missing, extra=len(replica), different=different,
        sample_missing=tuple(codec.display_key(k) for k in sample_missing),
        sample_extra=tuple(codec.display_key(k) for k in sample_extra),
        sample_different=tuple(codec.display_key(k) for k in sample_different),
        seconds=time.monotonic() - started)
