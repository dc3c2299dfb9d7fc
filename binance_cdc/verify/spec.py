"""What verify needs to know about a table: columns and kinds, keys, and its buckets.

Replica tables are described by binance_cdc/datasets.py. Query tables
(binance_cdc/sink/query_tables.py) declare only column names, so their kinds
and partition key are read from Cassandra's own metadata: it is Cassandra's
spelling of their values that verify has to read.

Rows are grouped into buckets by their key, the same way on both sides: by
the last integer-valued key column (a trade id, a candle's open time) modulo a
prime when the key has one — integer arithmetic costs Postgres nothing — and
by md5 of the key's text otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from binance_cdc.datasets import Dataset
from binance_cdc.errors import SinkError
from binance_cdc.verify.canonical import SEPARATOR, Kind, quote

if TYPE_CHECKING:
    from cassandra.cluster import Session
    from cassandra.metadata import TableMetadata

CQL_KINDS: dict[str, Kind] = {
    "text": "text", "varchar": "text", "ascii": "text", "decimal": "decimal",
    "bigint": "bigint", "int": "int", "boolean": "boolean", "timestamp": "timestamp",
    "date": "date",
}
BUCKET_PRIMES = (251, 1021, 4093, 16381, 65521)
ROWS_PER_BUCKET = 150
"""Aim for buckets this small: a differing bucket costs its rows' worth of comparing."""
_INTEGER_KINDS = ("bigint", "int", "timestamp")


@dataclass(frozen=True)
class TableSpec:
    """One table as verify reads it: columns in order, their kinds, primary and partition key."""

    name: str
    columns: tuple[str, ...]
    kinds: tuple[Kind, ...]
    key: tuple[str, ...]
    partition_key: tuple[str, ...]
    nullable: tuple[bool, ...] = ()
    key_positions: tuple[int, ...] = field(init=False)
    decimal_positions: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_positions", tuple(self.columns.index(k) for k in self.key))
        object.__setattr__(self, "decimal_positions",
                           tuple(i for i, k in enumerate(self.kinds) if k == "decimal"))
        if not self.nullable:
            object.__setattr__(self, "nullable", (False,) * len(self.columns))

    @classmethod
    def of_dataset(cls, dataset: Dataset) -> TableSpec:
        return cls(dataset.name, dataset.column_names, tuple(c.kind for c in dataset.columns),
                   dataset.primary_key, dataset.partition_key,
                   tuple(c.nullable for c in dataset.columns))

    @classmethod
    def of_cassandra(cls, session: Session, keyspace: str, name: str,
                     columns: tuple[str, ...], key: tuple[str, ...]) -> TableSpec:
        """A query table: ``columns`` and ``key`` as declared, kinds from Cassandra's schema."""
        meta = _table_metadata(session, keyspace, name)
        kinds: list[Kind] = []
        for column in columns:
            if column not in meta.columns:
                raise SinkError(f"{keyspace}.{name} has no column {column!r}, which "
                                "binance_cdc/sink/query_tables.py declares; run "
                                "`binance-cdc cassandra apply` or fix the declaration")
            cql_type = str(meta.columns[column].cql_type)
            if cql_type not in CQL_KINDS:
                raise SinkError(f"{keyspace}.{name}.{column} has type {cql_type}, which verify "
                                f"cannot compare (expected one of {', '.join(CQL_KINDS)})")
            kinds.append(CQL_KINDS[cql_type])
        return cls(name, columns, tuple(kinds), key, tuple(c.name for c in meta.partition_key),
                   tuple(column not in key for column in columns))

    def kind(self, column: str) -> Kind:
        return self.kinds[self.columns.index(column)]

    def key_of(self, parts: tuple[bytes, ...]) -> tuple[bytes, ...]:
        return tuple(parts[i] for i in self.key_positions)


def check_cassandra_table(session: Session, keyspace: str, spec: TableSpec) -> None:
    """Fail with an actionable message if the Cassandra table is missing or lacks a column."""
    meta = _table_metadata(session, keyspace, spec.name)
    missing = [c for c in spec.columns if c not in meta.columns]
    if missing:
        raise SinkError(f"{keyspace}.{spec.name} lacks column(s) {', '.join(missing)}; run "
                        "`binance-cdc cassandra apply`")


def _table_metadata(session: Session, keyspace: str, name: str) -> TableMetadata:
    cluster = session.cluster
    cluster.refresh_table_metadata(keyspace, name)
    ks = cluster.metadata.keyspaces.get(keyspace)
    table = None if ks is None else ks.tables.get(name)
    if table is None:
        raise SinkError(f"Cassandra has no table {keyspace}.{name}; create the schema with "
                        "`binance-cdc cassandra apply` (or check CASSANDRA_KEYSPACE)")
    return table


def bucket_count(estimated_rows: int) -> int:
    """The number of buckets for a table of about ``estimated_rows`` rows (a prime)."""
    wanted = max(estimated_rows, 0) / ROWS_PER_BUCKET
    return next((p for p in BUCKET_PRIMES if p >= wanted), BUCKET_PRIMES[-1])


@dataclass(frozen=True)
class Bucketing:
    """Which bucket a row's key falls in; computed alike in SQL and here."""

    spec: TableSpec
    count: int

    @property
    def integer_position(self) -> int | None:
        """Position of the key column bucketed by value, or None (md5 of the whole key)."""
        for position in reversed(self.spec.key_positions):
            if self.spec.kinds[position] in _INTEGER_KINDS:
                return position
        return None

    def of(self, parts: Sequence[bytes]) -> int:
        position = self.integer_position
        if position is not None:
            try:
                return int(parts[position]) % self.count
            except ValueError:  # 'infinity' (Postgres only): SQL puts it in bucket 0 too
                return 0
        key = SEPARATOR.join(parts[i] for i in self.spec.key_positions)
        return int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[:4], "big") % self.count

    def sql(self, text_exprs: list[str]) -> str:
        """SQL of the bucket; ``text_exprs`` are the canonical text expressions of the columns."""
        position = self.integer_position
        n = self.count
        if position is None:
            key = ", ".join(text_exprs[i] for i in self.spec.key_positions)
            return f"mod(('x' || substr(md5(concat_ws(E'\\x1f', {key})), 1, 8))::bit(32)::bigint, {n})"
        column = quote(self.spec.columns[position])
        if self.spec.kinds[position] == "timestamp":
            millis = f"floor(extract(epoch FROM {column}) * 1000)::bigint"
            return f"CASE WHEN isfinite({column}) THEN mod(mod({millis}, {n}) + {n}, {n}) ELSE 0 END"
        return f"mod(mod({column}, {n}) + {n}, {n})"
