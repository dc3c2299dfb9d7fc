"""Debezium's PostgreSQL connector turns every committed change into an event."""

from __future__ import annotations

import time
from decimal import Decimal

import psycopg
import pytest

from binance_cdc.connect.connector import ConnectorDefinition, apply
from binance_cdc.datasets import DATASETS, LATEST_PRICES, RECENT_TRADES, Dataset
from binance_cdc.errors import ConnectError
from binance_cdc.postgres.replication import slot_state
from binance_cdc.settings import Settings
from tests.helpers.kafka import end_offsets, read_events
from tests.helpers.rows import first_non_key_column, insert_sql, key_where, sample_row
from tests.integration.cdc_fixtures import temporary_connector

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect]

FULL_IDENTITY = {"order_book", "latest_prices", "recent_trades"}


def topic(definition: ConnectorDefinition, settings: Settings, table: str) -> str:
    return f"{definition.topic_prefix}.{settings.postgres.schema_name}.{table}"


def _json_value(value: object) -> object:
    """How our connector config renders a Postgres value in JSON."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.astimezone(__import__("datetime").timezone.utc).isoformat().replace(
            "+00:00", "Z")
    return value


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.name)
def test_insert_update_delete_arrive_as_c_u_d_then_a_tombstone(
        settings: Settings, connector: ConnectorDefinition, dataset: Dataset,
        unique_name: str) -> None:
    schema = settings.postgres.schema_name
    the_topic = topic(connector, settings, dataset.name)
    start = end_offsets(settings.kafka.bootstrap_servers, [the_topic])
    row = sample_row(dataset, unique_name)
    key = [row[k] for k in dataset.primary_key]
    changed = first_non_key_column(dataset)
    new_value = Decimal("98765.4321")

    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(insert_sql(dataset, schema), list(row.values()))
        conn.execute(f'UPDATE {schema}.{dataset.name} SET "{changed}" = %s '
                     f"WHERE {key_where(dataset)}", [new_value, *key])
        conn.execute(f"DELETE FROM {schema}.{dataset.name} WHERE {key_where(dataset)}", key)

    events = read_events(settings.kafka.bootstrap_servers, [the_topic], start=start,
                         match=lambda e: e.key is not None and e.key.get("symbol") == unique_name,
                         until=lambda evs: len(evs) >= 4)
    assert [e.op for e in events] == ["c", "u", "d", None]
    expected_after = {k: _json_value(v) for k, v in row.items()}
    create, update, delete, tombstone = events
    assert create.key == {k: _json_value(row[k]) for k in dataset.primary_key}
    assert create.value["before"] is None
    assert create.value["after"] == expected_after
    assert update.value["after"] == {**expected_after, changed: "98765.4321"}
    if dataset.name in FULL_IDENTITY:
        assert update.value["before"] == expected_after
        assert delete.value["before"] == {**expected_after, changed: "98765.4321"}
    else:
        assert update.value["before"] is None
        assert {k: delete.value["before"][k] for k in dataset.primary_key} == create.key
    assert delete.value["after"] is None
    assert tombstone.key == create.key and tombstone.value is None
    for event in (create, update, delete):
        assert event.value["source"]["table"] == dataset.name
        assert isinstance(event.value["source"]["lsn"], int)
    assert create.value["source"]["lsn"] < update.value["source"]["lsn"] < \
           delete.value["source"]["lsn"]


def test_decimals_arrive_as_exact_strings_and_timestamps_as_iso_microseconds(
        settings: Settings, connector: ConnectorDefinition, unique_name: str) -> None:
    the_topic = topic(connector, settings, RECENT_TRADES.name)
    start = end_offsets(settings.kafka.bootstrap_servers, [the_topic])
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO binance.recent_trades VALUES (%s, 7, %s, %s, %s, %s, true, true)",
            (unique_name, Decimal("0.00000001"), Decimal("123456789.12345678"),
             Decimal("1.00000000000000000001"), "2024-02-29T23:59:59.999999+00:00"))
    (event,) = read_events(settings.kafka.bootstrap_servers, [the_topic], start=start,
                           match=lambda e: e.key is not None and e.key["symbol"] == unique_name,
                           until=lambda evs: len(evs) >= 1)
    after = event.value["after"]
    assert after["price"] == "0.00000001"
    assert after["qty"] == "123456789.12345678"
    assert after["quote_qty"] == "1.00000000000000000001"
    assert after["trade_time"] == "2024-02-29T23:59:59.999999Z"


def test_changes_to_the_run_log_produce_no_event(settings: Settings,
                                                 connector: ConnectorDefinition,
                                                 unique_name: str) -> None:
    fence_topic = topic(connector, settings, LATEST_PRICES.name)
    start = end_offsets(settings.kafka.bootstrap_servers, [fence_topic])
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO binance.extraction_runs (dataset, started_at, finished_at, "
                     "status, symbols) VALUES ('latest_prices', now(), now(), 'ok', %s)",
                     ([unique_name],))
        conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 1, now())", (unique_name,))
    # The later change arriving proves the earlier one was decoded and dropped.
    read_events(settings.kafka.bootstrap_servers, [fence_topic], start=start,
                match=lambda e: e.key is not None and e.key["symbol"] == unique_name,
                until=lambda evs: len(evs) >= 1)
    from confluent_kafka.admin import AdminClient

    topics = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers}) \
        .list_topics(timeout=10).topics
    assert topic(connector, settings, "extraction_runs") not in topics


def test_rows_present_before_the_connector_starts_arrive_as_snapshot_reads(
        settings: Settings, connect_client, unique_name: str) -> None:
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 42.00000001, now())",
                     (unique_name,))
    with temporary_connector(settings, connect_client, unique_name) as definition:
        apply(connect_client, definition, timeout_s=120)
        events = read_events(
            settings.kafka.bootstrap_servers, [topic(definition, settings, "latest_prices")],
            match=lambda e: e.key is not None and e.key["symbol"] == unique_name,
            until=lambda evs: len(evs) >= 1, timeout_s=90)
    assert events[0].op == "r"
    assert events[0].value["after"]["price"] == "42.00000001"
    assert events[0].value["source"]["snapshot"] in ("true", "last", "first", "first_in_data_collection",
                                                     "last_in_data_collection")


def test_idle_tables_still_advance_the_slots_confirmed_lsn(
        settings: Settings, connector: ConnectorDefinition) -> None:
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        # WAL that no replicated table produces: only heartbeats can confirm past it.
        conn.execute("INSERT INTO binance.extraction_runs (dataset, started_at, finished_at, "
                     "status, symbols) VALUES ('idle-probe', now(), now(), 'ok', '{}')")
        target = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
    heartbeat_s = int(connector.config["heartbeat.interval.ms"]) / 1000
    deadline = time.monotonic() + 6 * heartbeat_s + 30
    while True:
        state = slot_state(settings.postgres, connector.slot_name)
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
            advanced = conn.execute("SELECT %s::pg_lsn >= %s::pg_lsn",
                                    (state.confirmed_flush_lsn, target)).fetchone()[0]
        if advanced:
            break
        assert time.monotonic() < deadline, (
            f"confirmed flush LSN stuck at {state.confirmed_flush_lsn}, below {target}")
        time.sleep(2)


def test_a_wrong_password_is_reported_with_its_likely_cause(settings: Settings, connect_client,
                                                            unique_name: str) -> None:
    with temporary_connector(settings, connect_client, unique_name,
                             database_password="not-the-password") as definition:
        with pytest.raises(ConnectError) as caught:
            apply(connect_client, definition, timeout_s=60)
    message = str(caught.value)
    assert "POSTGRES_DEBEZIUM_PASSWORD" in message
    assert "Traceback" not in message


def test_a_missing_publication_is_reported_with_its_likely_cause(settings: Settings,
                                                                 connect_client,
                                                                 unique_name: str) -> None:
    with temporary_connector(settings, connect_client, unique_name,
                             publication_name=f"missing_{unique_name}") as definition:
        with pytest.raises(ConnectError) as caught:
            apply(connect_client, definition, timeout_s=60)
    assert "publication is missing" in str(caught.value)
