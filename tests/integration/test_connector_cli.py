"""`binance-cdc connector status | snapshot` as a user runs them: a subprocess, exit codes, output."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from binance_cdc.connect.connector import ConnectorDefinition
from binance_cdc.settings import Settings
from tests.helpers.kafka import end_offsets, read_events

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect]

CLI = [sys.executable, "-m", "binance_cdc"]


def cli(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout_s)


def test_status_exits_0_while_the_connector_runs(connector: ConnectorDefinition) -> None:
    done = cli("connector", "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"connector {connector.name}: RUNNING" in done.stdout
    assert "task 0: RUNNING" in done.stdout
    assert f"replication slot {connector.slot_name}: active" in done.stdout


def test_snapshot_emits_read_events_for_existing_rows(settings: Settings,
                                                      connector: ConnectorDefinition,
                                                      unique_name: str) -> None:
    topic = f"{connector.topic_prefix}.{settings.postgres.schema_name}.latest_prices"
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 42.5, now())", (unique_name,))
    try:
        # Only what arrives after this point: the insert's own "c" event may come before or
        # after, the snapshot's "r" event certainly after.
        start = end_offsets(settings.kafka.bootstrap_servers, [topic])

        done = cli("connector", "snapshot", "latest_prices")
        assert done.returncode == 0, done.stderr
        assert "incremental snapshot of latest_prices requested" in done.stdout

        (read,) = read_events(
            settings.kafka.bootstrap_servers, [topic], start=start, timeout_s=120,
            match=lambda e: e.key == {"symbol": unique_name} and e.op == "r",
            until=lambda events: len(events) >= 1)
        assert read.value["before"] is None
        assert read.value["after"]["symbol"] == unique_name
        assert read.value["after"]["price"] == "42.5"
        assert read.value["source"]["snapshot"] == "incremental"
    finally:
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute("DELETE FROM binance.latest_prices WHERE symbol = %s", (unique_name,))


@pytest.mark.parametrize("table", ["no_such_table", "extraction_runs", "binance.latest_prices"])
def test_snapshot_of_an_unknown_table_is_a_one_line_error_with_exit_2(table: str) -> None:
    done = cli("connector", "snapshot", table)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0] == (f"error: cannot snapshot {table!r}: expected one of recent_trades, "
                        "order_book, klines, daily_ticker, latest_prices")
