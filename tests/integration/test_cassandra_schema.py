"""The tables cassandra/schema.cql creates on the running node are the ones binance_cdc
declares: every replica table is its dataset (binance_cdc/datasets.py) plus the replica
columns, every query table its declaration (binance_cdc/sink/query_tables.py), with the
same CQL types, partition key and clustering key."""

from __future__ import annotations

import pytest

from binance_cdc.datasets import DATASETS, REPLICA_META_COLUMNS, Dataset, Kind
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.query_tables import QUERY_TABLES, QueryTable
from binance_cdc.sink.schema import apply_schema

pytestmark = pytest.mark.cassandra

CQL_TYPES: dict[Kind, str] = {"text": "text", "decimal": "decimal", "bigint": "bigint",
                              "int": "int", "boolean": "boolean", "timestamp": "timestamp"}
# Query-table columns that are derived, not copied from the source (their CQL type).
DERIVED_TYPES = {"trade_date": "date"}


def _columns(settings: Settings, table: str) -> dict[str, tuple[str, str, int]]:
    """column -> (kind, type, position) as system_schema.columns has them."""
    apply_schema(settings.cassandra)
    with cassandra_session(settings.cassandra) as session:
        rows = session.execute(
            "SELECT column_name, kind, type, position FROM system_schema.columns "
            "WHERE keyspace_name = %s AND table_name = %s",
            (settings.cassandra.keyspace, table))
        return {r.column_name: (r.kind, r.type, r.position) for r in rows}


def _keys(columns: dict[str, tuple[str, str, int]], kind: str) -> tuple[str, ...]:
    return tuple(name for name, (k, _, _) in sorted(columns.items(), key=lambda c: c[1][2])
                 if k == kind)


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.name)
def test_replica_table_is_the_dataset(settings: Settings, dataset: Dataset) -> None:
    columns = _columns(settings, dataset.name)
    declared = {c.name: CQL_TYPES[c.kind] for c in (*dataset.columns, *REPLICA_META_COLUMNS)}
    assert {name: cql for name, (_, cql, _) in columns.items()} == declared
    assert _keys(columns, "partition_key") == dataset.partition_key
    assert _keys(columns, "clustering") == dataset.primary_key[len(dataset.partition_key):]


@pytest.mark.parametrize("query", QUERY_TABLES, ids=lambda q: q.name)
def test_query_table_is_its_declaration(settings: Settings, query: QueryTable) -> None:
    columns = _columns(settings, query.name)
    source = DATASETS[query.source]
    declared = {c: DERIVED_TYPES.get(c) or CQL_TYPES[source.column(c).kind]
                for c in query.columns}
    declared.update({c.name: CQL_TYPES[c.kind] for c in REPLICA_META_COLUMNS})
    assert {name: cql for name, (_, cql, _) in columns.items()} == declared
    key = _keys(columns, "partition_key") + _keys(columns, "clustering")
    assert key == query.key
