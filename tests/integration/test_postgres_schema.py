"""The Postgres tables created from sql/ are exactly the datasets declared in
binance_cdc/datasets.py: same columns, types, nullability and primary keys."""

from __future__ import annotations

import pytest

from binance_cdc.datasets import DATASETS, POSTGRES_TYPES, Dataset
from binance_cdc.settings import Settings

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.name)
def test_table_matches_the_declaration(pg_conn, settings: Settings, dataset: Dataset) -> None:
    schema = settings.postgres.schema_name
    columns = pg_conn.execute(
        "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, dataset.name)).fetchall()
    assert columns == [(c.name, POSTGRES_TYPES[c.kind], c.nullable) for c in dataset.columns]

    primary_key = pg_conn.execute(
        "SELECT a.attname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary "
        "ORDER BY array_position(i.indkey::int2[], a.attnum)",
        (f"{schema}.{dataset.name}",)).fetchall()
    assert tuple(r[0] for r in primary_key) == dataset.primary_key
