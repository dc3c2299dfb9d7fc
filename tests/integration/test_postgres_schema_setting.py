"""POSTGRES_SCHEMA is honoured by everything that names the schema: the SQL (tables,
publication, grants), the live writer's bookkeeping table, the connector's definition,
the change topics the stream reads and verify's reads."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from binance_cdc.connect.connector import load_definition
from binance_cdc.datasets import DATASETS, Dataset
from binance_cdc.postgres.connection import connect
from binance_cdc.postgres.schema import apply_sql
from binance_cdc.postgres.store import PostgresStore
from binance_cdc.settings import Settings
from binance_cdc.stream.job import topic_of
from binance_cdc.verify.postgres import estimate_rows

pytestmark = pytest.mark.postgres


@pytest.fixture
def alt(settings: Settings, unique_name: str) -> Iterator[Settings]:
    """Settings for schema alt_<unique> in a scratch database of the stack's Postgres."""
    pg = settings.postgres.model_copy(update={"schema_name": f"alt_{unique_name}",
                                              "database": f"db_{unique_name}"})
    yield settings.model_copy(update={"postgres": pg})
    with connect(settings.postgres, admin=True, database="postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{pg.database}" WITH (FORCE)')


def test_sql_creates_the_tables_publication_and_grants_in_the_configured_schema(
        alt: Settings) -> None:
    pg = alt.postgres
    apply_sql(pg)
    with connect(pg) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (pg.schema_name,))}
        published = {(r[0], r[1]) for r in conn.execute(
            "SELECT schemaname, tablename FROM pg_publication_tables "
            "WHERE pubname = 'binance_cdc'")}
        readable = conn.execute(
            "SELECT has_table_privilege(%s, %s, 'SELECT')",
            (pg.debezium_user, f"{pg.schema_name}.recent_trades")).fetchone()
        in_binance = conn.execute("SELECT count(*) FROM information_schema.tables "
                                  "WHERE table_schema = 'binance'").fetchone()
    assert set(DATASETS) | {"extraction_runs", "live_trade_progress"} <= tables
    assert published == {(pg.schema_name, t) for t in
                         (*DATASETS, "debezium_heartbeat", "debezium_signal")}
    assert readable == (True,)
    assert in_binance == (0,), "nothing may be created in the default schema"


def test_the_live_writers_table_goes_to_the_configured_schema(alt: Settings) -> None:
    from binance_cdc.extract.live.progress import ensure_table

    apply_sql(alt.postgres)
    store = PostgresStore(alt.postgres)
    try:
        with connect(alt.postgres) as conn:
            conn.execute(f'DROP TABLE "{alt.postgres.schema_name}".live_trade_progress')
        ensure_table(store)
    finally:
        store.close()
    with connect(alt.postgres) as conn:
        assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (
            f"{alt.postgres.schema_name}.live_trade_progress",)).fetchone() == (True,)


@pytest.mark.parametrize("dataset", [DATASETS["recent_trades"]], ids=lambda d: d.name)
def test_connector_topics_and_verify_name_the_configured_schema(
        alt: Settings, dataset: Dataset) -> None:
    schema = alt.postgres.schema_name
    config = load_definition(alt).config
    assert config["table.include.list"].split(",") == [f"{schema}.{t}" for t in DATASETS]
    assert config["signal.data.collection"] == f"{schema}.debezium_signal"
    assert f"INSERT INTO {schema}.debezium_heartbeat" in config["heartbeat.action.query"]
    assert topic_of(alt, dataset) == f"{alt.kafka.topic_prefix}.{schema}.{dataset.name}"
    apply_sql(alt.postgres)
    with psycopg.connect(alt.postgres.dsn(), autocommit=True) as conn:
        conn.execute(f'INSERT INTO "{schema}".recent_trades VALUES '
                     "('X', 1, 1, 1, 1, now(), true, true)")
    assert estimate_rows(alt.postgres, dataset.name) == 1  # verify reads the same schema
