"""The streaming job as a real process, shared by the end-to-end tests.

It is started with the README's command, verbatim, from the project folder, in a
plain environment (PATH and HOME, nothing a user would not have): the e2e tests
therefore prove that command as much as the pipeline.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.sink.connection import cassandra_session

# The README's command (tests/e2e/test_spark_submit.py checks the README still shows it).
README_COMMAND = ["spark-submit", "--properties-file", ".stack/spark/spark-defaults.conf",
                  "spark_streaming.py"]


def plain_env(**extra: str) -> dict[str, str]:
    """What a user's fresh shell has: PATH and HOME (and a locale), no project settings."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TERM") if k in os.environ}
    return {**env, **extra}


class StreamJob:
    """The streaming job, started as the README says, in its own process group."""

    def __init__(self, settings: Settings, log_path: Path, argv: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.log_path = log_path
        self.argv = argv or README_COMMAND
        self.env = env or plain_env()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=PROJECT_ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """kill -9 the job and everything it spawned (the Spark JVM, Python workers)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None

    def assert_running(self) -> None:
        assert self.process is not None and self.process.poll() is None, (
            f"the stream job exited; see {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_replicated(self, symbol: str, table: str = "latest_prices",
                        timeout_s: float = 120) -> object:
        """Wait until ``symbol``'s row of ``table`` is in Cassandra; return it."""
        deadline = time.monotonic() + timeout_s
        with cassandra_session(self.settings.cassandra, keyspace=self.settings.cassandra.keyspace,
                               timeout_s=10) as session:
            while True:
                row = session.execute(f"SELECT * FROM {table} WHERE symbol = %s LIMIT 1",
                                      (symbol,)).one()
                if row is not None:
                    return row
                self.assert_running()
                assert time.monotonic() < deadline, (
                    f"{symbol} did not reach Cassandra's {table} within {timeout_s}s:\n"
                    f"{self.log_tail()}")
                time.sleep(0.5)


def record_day(timestamp_ms: int) -> dt.date:
    """The dead_letters partition day of a Kafka record with this timestamp (UTC)."""
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.timezone.utc).date()


def wait_dead_letter(settings: Settings, topic: str, partition: int, offset: int,
                     timestamp_ms: int, timeout_s: float = 60) -> object:
    """The dead letter of one Kafka record, once the stream has written it.

    A batch writes its dead letters after its upserts, so a fence row that
    arrived does not mean the same batch's dead letters are there yet.
    """
    deadline = time.monotonic() + timeout_s
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace,
                           timeout_s=10) as session:
        while True:
            letter = session.execute(
                "SELECT record_key, record_value, value_bytes, error FROM dead_letters WHERE "
                "topic = %s AND day = %s AND partition = %s AND offset = %s",
                (topic, record_day(timestamp_ms), partition, offset)).one()
            if letter is not None or time.monotonic() > deadline:
                return letter
            time.sleep(0.5)


def write_fence(settings: Settings, symbol: str) -> None:
    """A latest_prices row whose arrival proves the stream got past this point."""
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 1, now()) "
                     "ON CONFLICT (symbol) DO UPDATE SET price = latest_prices.price + 1",
                     (symbol,))


@pytest.fixture(scope="package")
def stream_job(settings: Settings, connector, tmp_path_factory) -> Iterator[StreamJob]:
    from binance_cdc.sink.schema import apply_schema

    apply_schema(settings.cassandra)
    workdir = tmp_path_factory.mktemp("stream")
    job = StreamJob(settings, workdir / "stream.log")
    job.start()
    fence = f"FENCE{time.monotonic_ns()}"
    write_fence(settings, fence)
    job.wait_replicated(fence, timeout_s=240)
    yield job
    job.stop()
