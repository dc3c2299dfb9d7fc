"""kill -9 of the Connect worker in the middle of a stream of changes loses
nothing: after `stack up` brings it back, every committed change is on Kafka
at least once (Debezium resumes from its last flushed offset, so some changes
may arrive twice; the test reports how many)."""

from __future__ import annotations

import os
import signal
import threading
import time

import psycopg
import pytest

from binance_cdc.connect.connector import ConnectorDefinition, wait_running
from binance_cdc.settings import Settings
from binance_cdc.stack import process
from binance_cdc.stack.launcher import Stack
from tests.helpers.kafka import end_offsets, read_events

pytestmark = [pytest.mark.stack, pytest.mark.connect]

CHANGES = 3000
PER_TRANSACTION = 10


def _write_trades(settings: Settings, symbol: str, stop: threading.Event) -> None:
    with psycopg.connect(settings.postgres.dsn(), autocommit=False) as conn:
        for first in range(0, CHANGES, PER_TRANSACTION):
            with conn.transaction():
                conn.cursor().executemany(
                    "INSERT INTO binance.recent_trades VALUES (%s, %s, 1.5, 2, 3, now(), true, true)",
                    [(symbol, i) for i in range(first, first + PER_TRANSACTION)])
            time.sleep(0.01)


def test_kill_9_of_connect_mid_stream_loses_no_committed_change(
        settings: Settings, connector: ConnectorDefinition, connect_client,
        unique_name: str) -> None:
    topic = f"{connector.topic_prefix}.{settings.postgres.schema_name}.recent_trades"
    start = end_offsets(settings.kafka.bootstrap_servers, [topic])
    stack = Stack(settings)
    writer = threading.Thread(target=_write_trades, args=(settings, unique_name, threading.Event()))
    writer.start()
    time.sleep(2.0)
    pid = stack.services["connect"].pid_file.running_pid()
    os.kill(pid, signal.SIGKILL)
    assert process.wait_exit(pid, 30)
    writer.join(timeout=120)
    assert not writer.is_alive()

    report = stack.up(["connect"])
    assert "connect" in report.started
    wait_running(connect_client, connector.name, timeout_s=120)

    def all_ids_seen(events) -> bool:
        return len({e.key["trade_id"] for e in events if e.op == "c"}) >= CHANGES

    events = read_events(settings.kafka.bootstrap_servers, [topic], start=start,
                         match=lambda e: e.key is not None and e.key["symbol"] == unique_name,
                         until=all_ids_seen, timeout_s=180)
    ids = [e.key["trade_id"] for e in events if e.op == "c"]
    assert set(ids) == set(range(CHANGES))
    duplicates = len(ids) - len(set(ids))
    print(f"\n{CHANGES} committed changes, {len(ids)} events, {duplicates} duplicates "
          "after kill -9 of Connect")
