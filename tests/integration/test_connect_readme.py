"""The README's curl calls against the Connect REST API, as typed, in a plain shell.

They delete and re-create the project's connector: its slot and its offsets in Connect
stay, so it resumes where it was, and the test registers it again whatever happens.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import psycopg
import pytest

from binance_cdc.connect.client import ConnectClient
from binance_cdc.connect.connector import ConnectorDefinition, apply, load_definition
from binance_cdc.settings import PROJECT_ROOT, Settings
from tests.e2e.conftest import plain_env
from tests.helpers.kafka import end_offsets, read_events

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect]


def readme_curl_calls() -> list[str]:
    """The curl lines of the README's Connect block, continuations joined, comments cut."""
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("curl -s localhost:8083/connector-plugins"
                        "                                   # Debezium is installed")
    calls, pending = [], ""
    for line in lines[start:]:
        if line.startswith("```"):
            break
        pending += line.split("  #")[0].rstrip()
        if pending.endswith("\\"):
            pending += "\n"
            continue
        if pending.startswith("curl "):
            calls.append(pending)
        pending = ""
    return calls


def _wait(what: str, check: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s:.0f}s"
        time.sleep(1)


def _state(client: ConnectClient, name: str) -> str | None:
    status = client.status(name)
    if status is None:
        return None
    tasks = {task["state"] for task in status.get("tasks", [])}
    state = status["connector"]["state"]
    return state if tasks == {state} else f"{state}/{sorted(tasks)}"


def test_the_readmes_curl_calls_manage_the_connector(settings: Settings,
                                                     connect_client: ConnectClient,
                                                     connector: ConnectorDefinition,
                                                     unique_name: str) -> None:
    calls = readme_curl_calls()
    assert [call.split("localhost:8083")[1].split()[0].strip("'") for call in calls] == [
        "/connector-plugins", "/connectors", "/connectors/binance-postgres/status",
        "/connectors/binance-postgres/restart?includeTasks=true",
        "/connectors/binance-postgres/pause", "/connectors/binance-postgres/resume",
        "/connectors/binance-postgres"]
    plugins, create, status, restart, pause, resume, delete = calls
    name = connector.name

    def run(call: str) -> str:
        done = subprocess.run(["bash", "-c", call], cwd=PROJECT_ROOT, env=plain_env(),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (call, done.stdout, done.stderr)
        return done.stdout

    connect_client.delete(name)
    _wait("the connector's deletion", lambda: name not in connect_client.connectors())
    try:
        assert "io.debezium.connector.postgresql.PostgresConnector" in run(plugins)
        assert json.loads(run(create))["name"] == name
        _wait("RUNNING after create", lambda: _state(connect_client, name) == "RUNNING")
        assert json.loads(run(status))["connector"]["state"] == "RUNNING"
        run(restart)
        _wait("RUNNING after restart", lambda: _state(connect_client, name) == "RUNNING")
        run(pause)
        _wait("PAUSED", lambda: _state(connect_client, name) == "PAUSED")
        run(resume)
        _wait("RUNNING after resume", lambda: _state(connect_client, name) == "RUNNING")

        # The connector the README created captures changes.
        topic = f"{connector.topic_prefix}.{settings.postgres.schema_name}.latest_prices"
        start = end_offsets(settings.kafka.bootstrap_servers, [topic])
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 1.5, now())",
                         (unique_name,))
            conn.execute("DELETE FROM binance.latest_prices WHERE symbol = %s", (unique_name,))
        read_events(settings.kafka.bootstrap_servers, [topic], start=start, timeout_s=120,
                    match=lambda e: e.key == {"symbol": unique_name},
                    until=lambda events: len(events) >= 2)

        run(delete)
        _wait("the deletion", lambda: name not in connect_client.connectors())
    finally:
        apply(connect_client, load_definition(settings), timeout_s=120)
