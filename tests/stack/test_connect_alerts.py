"""Stopping Kafka Connect fires the connector and slot alerts in a real Prometheus; starting
it again resolves them. Stops a shared service, so it runs with the other stack tests (last)
and always starts Connect again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from binance_cdc.connect.connector import ConnectorDefinition, wait_running
from binance_cdc.observe.metrics.sources import SlotReader
from binance_cdc.settings import Settings
from binance_cdc.stack.launcher import Stack
from tests.helpers.prometheus import PrometheusApi, eventually, exporter_process, fast_prometheus, override

pytestmark = [pytest.mark.stack, pytest.mark.connect, pytest.mark.postgres, pytest.mark.prometheus]

WAL_MARGIN = 2 * 1024 * 1024
FILLER = "binance_cdc_test_wal.filler"


def _retained(settings: Settings, slot: str) -> int:
    reader = SlotReader(settings)
    try:
        return next(s.retained_bytes for s in reader.read() if s.name == slot) or 0
    finally:
        reader.close()


def _write_wal(settings: Settings, megabytes: int) -> None:
    """WAL that no connector captures: rows of a table outside the publication."""
    with psycopg.connect(settings.postgres.dsn(admin=True), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS binance_cdc_test_wal")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {FILLER} (payload text)")
        conn.execute(f"INSERT INTO {FILLER} SELECT repeat(md5(g::text), 32) "
                     "FROM generate_series(1, %s) g", (megabytes * 1024,))
        conn.execute(f"TRUNCATE {FILLER}")


@pytest.fixture
def watched(settings: Settings, connector: ConnectorDefinition,
            tmp_path) -> Iterator[PrometheusApi]:
    # The slot alert's threshold a little above what the slot retains now, so the test does
    # not depend on what earlier tests left in the WAL.
    threshold = _retained(settings, connector.slot_name) + WAL_MARGIN
    with exporter_process(tmp_path / "exporter.log") as port:
        fast = override(settings, metrics={"exporter_port": port},
                        connect={"slot_lag_warn_bytes": threshold})
        with fast_prometheus(fast, tmp_path / "prometheus") as api:
            yield api


def test_stopping_connect_fires_the_connector_and_slot_alerts_and_starting_it_resolves_them(
        settings: Settings, connector: ConnectorDefinition, connect_client,
        watched: PrometheusApi) -> None:
    slot_alert = lambda: [a for a in watched.alerts("ReplicationSlotRetainingWal")  # noqa: E731
                          if a["labels"]["slot"] == connector.slot_name]
    eventually("Prometheus sees the running task",
               lambda: watched.query('kafka_connect_connector_task_status{status="running"}'), 30)
    assert not watched.alerts("ConnectorTaskNotRunning") and not slot_alert()

    stack = Stack(settings)
    stopping = time.monotonic()
    stack.down(["connect"])
    try:
        _write_wal(settings, megabytes=4)
        eventually("ReplicationSlotRetainingWal fires", slot_alert, 60,
                   lambda: str(watched.query("binance_cdc_postgres_slot_retained_wal_bytes")))
        eventually("ConnectorTaskNotRunning fires",
                   lambda: watched.alerts("ConnectorTaskNotRunning"), 90)
        assert time.monotonic() - stopping >= 30  # its `for:` rides out a rebalance
    finally:
        stack.up(["connect"])
        wait_running(connect_client, connector.name, timeout_s=120)
    eventually("ConnectorTaskNotRunning resolves",
               lambda: not watched.alerts("ConnectorTaskNotRunning"), 60)
    eventually("the slot alert resolves once Debezium confirms the WAL",
               lambda: not slot_alert(), 120)
