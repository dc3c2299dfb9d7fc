"""`binance-cdc consume` prints the change events of a real topic, one JSON line each."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psycopg
import pytest

from binance_cdc.connect.connector import ConnectorDefinition
from binance_cdc.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect]

CLI = [sys.executable, "-m", "binance_cdc"]


def wait_for_line(stream: object, text: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if text in line:
            return line
        if not line:
            break
    raise AssertionError(f"no line with {text!r} within {timeout_s}s")


def test_new_events_are_printed_as_json_lines(settings: Settings, connector: ConnectorDefinition,
                                              unique_name: str) -> None:
    consumer = subprocess.Popen([*CLI, "consume", "latest_prices", "-n", "2", "--timeout", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Positions are fixed once it logs them; only then is a new event certain to be read.
        wait_for_line(consumer.stderr, "reading binance.binance.latest_prices from offsets")
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 1.50, now())",
                         (unique_name,))
            conn.execute("DELETE FROM binance.latest_prices WHERE symbol = %s", (unique_name,))
        out, err = consumer.communicate(timeout=60)
    finally:
        consumer.kill()
        consumer.wait()
    assert consumer.returncode == 0, err
    # Other writers may add events to the topic; ours are the first two with our key.
    lines = [json.loads(line) for line in out.splitlines()]
    ours = [line for line in lines if line["key"] == {"symbol": unique_name}]
    if len(ours) < 2:
        pytest.fail(f"expected our create and delete among {lines}")
    create, delete = ours[:2]
    assert create["op"] == "c" and create["before"] is None
    assert create["after"]["symbol"] == unique_name and create["after"]["price"] == "1.50"
    assert isinstance(create["source"]["lsn"], int) and isinstance(create["source"]["ts_ms"], int)
    assert create["topic"] == "binance.binance.latest_prices"
    assert delete["op"] == "d" and delete["after"] is None
    assert delete["source"]["lsn"] > create["source"]["lsn"]


def test_from_beginning_with_a_count_stops(connector: ConnectorDefinition) -> None:
    done = subprocess.run([*CLI, "consume", "binance.binance.latest_prices", "--from-beginning",
                           "-n", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    event = json.loads(line)
    assert event["offset"] >= 0 and "key" in event and "op" in event


def test_idle_timeout_ends_a_quiet_read(connector: ConnectorDefinition) -> None:
    started = time.monotonic()
    done = subprocess.run([*CLI, "consume", "binance.binance.klines", "--timeout", "2"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30


@pytest.mark.kafka
def test_an_unknown_topic_is_a_one_line_error() -> None:
    done = subprocess.run([*CLI, "consume", "no_such_table", "-n", "1"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "binance.binance.no_such_table" in line and "binance.binance.latest_prices" in line
