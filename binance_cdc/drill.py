"""The fault drill: kill -9 each moving part under steady load and prove nothing is lost.

Under a steady load (binance_cdc/bench/load.py), the Connect worker, the Spark
job, the Kafka broker and Cassandra are killed with SIGKILL in turn and brought
back the way an operator would: `stack up` for a service, the stream command for
the job, and a connector restart if the Kafka outage failed its task. A
service's recovery time runs from the kill until a change committed after its
restart has reached Cassandra. After the last one the load stops and
``verify`` must find Postgres and Cassandra identical.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from binance_cdc.bench.load import cleanup, generate, new_run
from binance_cdc.connect.client import ConnectClient
from binance_cdc.connect.connector import failure, load_definition, wait_running
from binance_cdc.errors import BinanceCdcError, StackError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.stack import process
from binance_cdc.stack.apps import stream_app
from binance_cdc.stack.launcher import Stack

if TYPE_CHECKING:
    from binance_cdc.verify.result import VerifyResult

log = logging.getLogger(__name__)

VICTIMS = ("connect", "stream", "kafka", "cassandra")


class DrillError(StackError):
    """The pipeline did not recover, or lost data."""


@dataclass
class Recovery:
    victim: str
    down_s: float
    """Kill -> the process is running again."""
    recovered_s: float
    """Kill -> a change committed after the restart is in Cassandra."""


@dataclass
class DrillReport:
    recoveries: list[Recovery] = field(default_factory=list)
    changes: int = 0
    verify: VerifyResult | None = None


def run_drill(settings: Settings, *, rate: float = 300.0, victims: tuple[str, ...] = VICTIMS,
              settle_s: float = 5.0, timeout_s: float = 300.0,
              on_event: Callable[[str], None] = lambda s: None) -> DrillReport:
    from binance_cdc.connect.connector import apply
    from binance_cdc.sink.schema import apply_schema
    from binance_cdc.verify.run import verify_until

    stack = Stack(settings)
    stack.up()
    apply_schema(settings.cassandra)
    apply(ConnectClient(settings.connect.url), load_definition(settings),
          timeout_s=settings.connect.ready_timeout_s)
    stream = stream_app(settings)
    stream.start()
    report = DrillReport()
    load = new_run(rate)
    stop_load = threading.Event()
    loader = threading.Thread(target=generate, name="drill-load", daemon=True,
                              args=(settings, load), kwargs={"duration_s": 24 * 3600,
                                                             "stop": stop_load})
    _wait_flowing(settings, "before the drill", timeout_s)
    loader.start()
    on_event(f"steady load of {rate:.0f} changes/s started")
    try:
        for victim in victims:
            time.sleep(settle_s)
            recovery = _kill_and_recover(settings, stack, victim, timeout_s)
            report.recoveries.append(recovery)
            on_event(f"{victim}: killed, running again after {recovery.down_s:.1f}s, "
                     f"changes flowing to Cassandra after {recovery.recovered_s:.1f}s")
    finally:
        stop_load.set()
        loader.join(60)
    report.changes = load.changes
    on_event(f"load stopped after {load.changes:,} changes; verifying every table")
    report.verify = verify_until(settings, wait_s=timeout_s)
    cleanup(settings, load)
    if not report.verify.matches:
        raise DrillError(f"Postgres and Cassandra differ after the drill: {report.verify}")
    return report


def _kill_and_recover(settings: Settings, stack: Stack, victim: str, timeout_s: float) -> Recovery:
    stream = stream_app(settings)
    pid = stream.pid() if victim == "stream" else stack.services[victim].pid_file.running_pid()
    if pid is None:
        raise DrillError(f"{victim} is not running, nothing to kill")
    killed_at = time.monotonic()
    if victim == "stream":
        # The job's Spark JVM and Python workers share its process group.
        os.killpg(pid, signal.SIGKILL)
    else:
        os.kill(pid, signal.SIGKILL)
    process.wait_exit(pid, 30)
    log.info("killed %s (pid %s)", victim, pid)
    if victim == "stream":
        stream.pid_file.remove()
        stream.start()
    else:
        stack.up([victim])
    down_s = time.monotonic() - killed_at
    if victim in ("kafka", "connect"):
        _heal_connector(settings, timeout_s)
    _wait_flowing(settings, f"after killing {victim}", timeout_s)
    return Recovery(victim, down_s, time.monotonic() - killed_at)


def _heal_connector(settings: Settings, timeout_s: float) -> None:
    """Restart the connector if the outage failed it, then wait until it runs."""
    client = ConnectClient(settings.connect.url)
    name = load_definition(settings).name
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status = client.status(name)
            if status is not None and failure(status) is not None:
                log.info("connector %s FAILED during the outage; restarting it", name)
                client.restart(name)
            wait_running(client, name, timeout_s=30)
            return
        except BinanceCdcError as exc:
            if time.monotonic() > deadline:
                raise DrillError(f"the connector did not recover: {exc}") from exc
            time.sleep(2)


def _wait_flowing(settings: Settings, when: str, timeout_s: float) -> None:
    """Commit a marker row and wait until it is in Cassandra."""
    symbol = f"DRILL{time.monotonic_ns()}"
    with connect(settings.postgres) as conn:
        conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 1, now())", (symbol,))
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace,
                                       timeout_s=5) as session:
                    while time.monotonic() < deadline:
                        if session.execute("SELECT symbol FROM latest_prices WHERE symbol = %s",
                                           (symbol,)).one() is not None:
                            return
                        time.sleep(0.5)
            except BinanceCdcError:
                time.sleep(1)  # Cassandra itself may still be starting
            if time.monotonic() > deadline:
                raise DrillError(f"no change reached Cassandra within {timeout_s:.0f}s {when}; "
                                 f"see {settings.stack.logs_dir}")
    finally:
        with connect(settings.postgres) as conn:
            conn.execute("DELETE FROM binance.latest_prices WHERE symbol = %s", (symbol,))
