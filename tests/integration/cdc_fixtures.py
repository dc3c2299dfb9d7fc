"""Fixtures for tests that need the Debezium connector (imported by conftest)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import psycopg
import pytest

from binance_cdc.connect.client import ConnectClient
from binance_cdc.connect.connector import ConnectorDefinition, apply, load_definition
from binance_cdc.settings import Settings
from tests.conftest import wait_for


@pytest.fixture(scope="session")
def connect_client(settings: Settings) -> Iterator[ConnectClient]:
    client = ConnectClient(settings.connect.url)
    wait_for("Kafka Connect", client.plugins, timeout_s=60)
    yield client
    client.close()


@pytest.fixture(scope="session")
def connector(settings: Settings, connect_client: ConnectClient) -> ConnectorDefinition:
    """The project's connector, registered and RUNNING."""
    definition = load_definition(settings)
    apply(connect_client, definition, timeout_s=120)
    return definition


def drop_slot(settings: Settings, slot: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(settings.postgres.dsn(admin=True), autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                               (slot,)).fetchone()
            if row is None:
                return
            if not row[0]:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"replication slot {slot} stayed active")
            time.sleep(0.5)


@contextlib.contextmanager
def temporary_connector(settings: Settings, client: ConnectClient, name: str,
                        **overrides: str) -> Iterator[ConnectorDefinition]:
    """A second connector with its own name, slot and topic prefix; removed afterwards."""
    definition = load_definition(settings).with_overrides(
        name=name, slot_name=name, topic_prefix=name, **overrides)
    try:
        yield definition
    finally:
        client.delete(name)
        drop_slot(settings, name)
