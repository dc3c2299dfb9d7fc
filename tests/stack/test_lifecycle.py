"""The launcher's contract: up, down, kill -9 recovery, reset, taken ports.

These tests stop, kill and wipe the shared stack, so the suite runs them last
(see tests/conftest.py) and each leaves the stack up again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import psycopg
import pytest

from binance_cdc.errors import PortTakenError
from binance_cdc.settings import (
    CassandraSettings,
    ConnectSettings,
    KafkaSettings,
    MetricsSettings,
    PostgresSettings,
    PrometheusSettings,
    Settings,
    StackSettings,
)
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.stack import process
from binance_cdc.stack.launcher import Stack, service_names
from binance_cdc.stack.ports import port_open

pytestmark = pytest.mark.stack

MARKER_SCHEMA = "lifecycle_marker"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pids(stack: Stack) -> dict[str, int | None]:
    return {s.name: s.pid for s in stack.status()}


@pytest.fixture
def stack(settings: Settings) -> Stack:
    stack = Stack(settings)
    stack.up()
    return stack


def test_port_taken_by_another_process_names_port_and_variable_and_starts_nothing(
        tmp_path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    settings = Settings(
        stack=StackSettings(home=tmp_path / "stack"),
        postgres=PostgresSettings(port=_free_port()),
        kafka=KafkaSettings(port=_free_port(), controller_port=_free_port(),
                            metrics_port=_free_port()),
        connect=ConnectSettings(port=_free_port(), metrics_port=_free_port()),
        cassandra=CassandraSettings(port=taken, storage_port=_free_port(), jmx_port=_free_port(),
                                    metrics_port=_free_port()),
        metrics=MetricsSettings(exporter_port=_free_port()),
        prometheus=PrometheusSettings(port=_free_port()),
    )
    try:
        with pytest.raises(PortTakenError) as caught:
            Stack(settings).up()
    finally:
        blocker.close()
    assert caught.value.port == taken
    assert caught.value.env_var == "CASSANDRA_PORT"
    assert f"port {taken}" in str(caught.value) and "CASSANDRA_PORT" in str(caught.value)
    assert not (tmp_path / "stack" / "run").exists(), "no pid file may be written"
    assert all(s.pid is None for s in Stack(settings).status())


def test_the_cli_reports_a_taken_port_in_one_line(tmp_path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    env = {**os.environ, "STACK_HOME": str(tmp_path), "POSTGRES_PORT": str(blocker.getsockname()[1])}
    try:
        result = subprocess.run([sys.executable, "-m", "binance_cdc", "stack", "up", "postgres"],
                                env=env, capture_output=True, text=True, timeout=60)
    finally:
        blocker.close()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: port ")
    assert "POSTGRES_PORT" in result.stderr


def test_kill_9_of_one_service_then_up_brings_back_just_that_one(stack: Stack) -> None:
    before = _pids(stack)
    victim = before["connect"]
    os.kill(victim, signal.SIGKILL)
    assert process.wait_exit(victim, 30)

    report = stack.up()

    assert set(report.started) == {"connect"}
    after = _pids(stack)
    assert after["connect"] not in (None, victim)
    assert {n: p for n, p in after.items() if n != "connect"} == \
           {n: p for n, p in before.items() if n != "connect"}
    assert all(s.healthy for s in stack.status())


def _write_markers(settings: Settings, name: str) -> None:
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {MARKER_SCHEMA}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_SCHEMA}.markers (name text)")
        conn.execute(f"INSERT INTO {MARKER_SCHEMA}.markers VALUES (%s)", (name,))
    with cassandra_session(settings.cassandra, timeout_s=10, admin=True) as session:
        session.execute(f"CREATE KEYSPACE {name} WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    admin.create_topics([NewTopic(f"marker.{name}", 1, 1)])[f"marker.{name}"].result(30)


def _markers_present(settings: Settings, name: str) -> dict[str, bool]:
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        in_pg = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{MARKER_SCHEMA}.markers",)).fetchone()[0]
        if in_pg:
            in_pg = conn.execute(f"SELECT count(*) FROM {MARKER_SCHEMA}.markers WHERE name = %s",
                                 (name,)).fetchone()[0] == 1
    with cassandra_session(settings.cassandra, timeout_s=10) as session:
        in_cassandra = session.execute(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s",
            (name,)).one() is not None
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    in_kafka = f"marker.{name}" in admin.list_topics(timeout=10).topics
    return {"postgres": bool(in_pg), "cassandra": in_cassandra, "kafka": in_kafka}


def test_down_stops_every_process_and_frees_every_port_and_up_keeps_the_data(
        stack: Stack, settings: Settings, unique_name: str) -> None:
    _write_markers(settings, unique_name)
    pids = _pids(stack)

    stopped = stack.down()

    assert set(stopped) == set(service_names(settings))
    assert not any(process.is_alive(pid) for pid in pids.values() if pid)
    for service in stack.services.values():
        assert service.pid_file.read() is None
        for port in service.ports():
            assert not port_open(port.host, port.port), f"{service.name} still holds {port.port}"

    stack.up()
    assert _markers_present(settings, unique_name) == {
        "postgres": True, "cassandra": True, "kafka": True}


def test_reset_removes_the_data_and_up_starts_fresh(stack: Stack, settings: Settings,
                                                     unique_name: str) -> None:
    _write_markers(settings, unique_name)

    stack.reset()
    assert not settings.stack.data_dir.exists()
    assert all(s.pid is None for s in stack.status())
    stack.up()

    assert _markers_present(settings, unique_name) == {
        "postgres": False, "cassandra": False, "kafka": False}
    with psycopg.connect(settings.postgres.dsn()) as conn:
        assert conn.execute("SELECT to_regclass('binance.recent_trades') IS NOT NULL").fetchone()[0]
