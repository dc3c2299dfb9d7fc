"""The stream on the local Spark standalone cluster (`binance-cdc stack up spark`).

The job is submitted with the README's cluster command. The executors get a
Python that has the libraries of requirements.txt but not binance_cdc, as a
worker on another machine would: the job must bring what its executors need.
One worker is killed with SIGKILL mid-stream; verify must then find Postgres and
Cassandra identical.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from binance_cdc.settings import Settings
from binance_cdc.stack import process
from binance_cdc.stack.launcher import Stack
from binance_cdc.verify.run import verify_until
from tests.e2e.conftest import README_COMMAND, StreamJob, plain_env

pytestmark = [pytest.mark.stack, pytest.mark.e2e, pytest.mark.spark, pytest.mark.postgres,
              pytest.mark.kafka, pytest.mark.connect, pytest.mark.cassandra]


@pytest.fixture
def executor_python(tmp_path: Path) -> str:
    """An interpreter with the third-party libraries but without binance_cdc."""
    venv = tmp_path / "executor-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    # A plain path line: the libraries are importable, but the .pth files there (the
    # editable install of binance_cdc among them) are not processed.
    (site / "requirements-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = str(venv / "bin" / "python")
    check = "import pyspark, cassandra, psycopg, confluent_kafka, pydantic"
    assert subprocess.run([python, "-c", check], cwd=tmp_path, check=False).returncode == 0
    assert subprocess.run([python, "-c", "import binance_cdc"], cwd=tmp_path,
                          capture_output=True, check=False).returncode != 0
    return python


def _write_changes(settings: Settings, symbol: str, count: int) -> None:
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        for i in range(count):
            conn.execute("INSERT INTO binance.recent_trades VALUES (%s, %s, %s, 1, 1, now(), "
                         "true, true)", (symbol, i, Decimal(i) / 7))
            conn.execute("INSERT INTO binance.latest_prices VALUES (%s, %s, now()) ON CONFLICT "
                         "(symbol) DO UPDATE SET price = EXCLUDED.price", (symbol, Decimal(i) / 100))
            if i % 10 == 9:
                conn.execute("DELETE FROM binance.recent_trades WHERE symbol = %s AND "
                             "trade_id = %s", (symbol, i - 5))
            time.sleep(0.03)


def test_the_stream_runs_on_the_standalone_cluster_and_survives_a_killed_worker(
        settings: Settings, executor_python: str, unique_name: str,
        tmp_path: Path) -> None:
    from binance_cdc.connect.client import ConnectClient
    from binance_cdc.connect.connector import apply, load_definition
    from binance_cdc.sink.schema import apply_schema

    stack = Stack(settings)
    stack.up()  # whatever an earlier lifecycle test left stopped
    # A lifecycle test may have wiped every service's data: schema and connector again.
    apply_schema(settings.cassandra)
    client = ConnectClient(settings.connect.url)
    try:
        apply(client, load_definition(settings), timeout_s=180)
    finally:
        client.close()
    spark = settings.spark
    master = f"spark://{spark.cluster_host}:{spark.cluster_master_port}"
    argv = ["spark-submit", "--master", master, "--conf", f"spark.pyspark.python={executor_python}",
            *README_COMMAND[1:]]
    job = StreamJob(settings, tmp_path / "stream.log", argv=argv,
                    env=plain_env(SPARK_CHECKPOINT_DIR=str(tmp_path / "checkpoint")))
    job.start()
    writer = threading.Thread(target=_write_changes, args=(settings, unique_name, 400))
    try:
        writer.start()
        job.wait_replicated(unique_name, timeout_s=240)
        state = stack.services["spark-master"].cluster_state()
        apps = [a for a in state["activeapps"] if a["name"] == spark.query_name]
        assert apps and apps[0]["cores"] == 2, state["activeapps"]  # an executor on each worker

        worker = stack.services["spark-worker-1"]
        pid = worker.pid_file.running_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert process.wait_exit(pid, 30)
        writer.join(180)
        result = verify_until(settings, ["recent_trades", "latest_prices"],
                              symbols=[unique_name], wait_s=420)
        assert result.matches, f"{result}\n{job.log_tail(60)}"
        job.assert_running()
    finally:
        writer.join(180)
        job.stop()
        stack.up(["spark"])  # the killed worker comes back for the tests after this one
