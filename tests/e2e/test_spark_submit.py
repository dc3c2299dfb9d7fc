"""`spark-submit` as users type it: the README's command, bare spark-submit, the shortcut."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.stream.submit import ENTRY_POINT, properties_file
from tests.e2e.conftest import README_COMMAND, plain_env

pytestmark = [pytest.mark.e2e, pytest.mark.spark]


def test_the_readme_shows_the_command_the_stream_fixture_runs() -> None:
    # Every e2e test runs the stream with README_COMMAND (tests/e2e/conftest.py).
    assert shlex.join(README_COMMAND) in (PROJECT_ROOT / "README.md").read_text()


def test_bare_spark_submit_fails_fast_and_prints_the_command_to_use() -> None:
    result = subprocess.run(["spark-submit", "spark_streaming.py"], cwd=PROJECT_ROOT,
                            env=plain_env(), capture_output=True, text=True, timeout=180,
                            check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "spark-sql-kafka-0-10 and spark-cassandra-connector" in output
    assert shlex.join(README_COMMAND) in output


def test_binance_cdc_stream_runs_the_same_spark_submit_command(settings: Settings) -> None:
    result = subprocess.run(["binance-cdc", "stream", "--print-command"], cwd=PROJECT_ROOT,
                            env=plain_env(), capture_output=True, text=True, timeout=120,
                            check=True)
    argv = shlex.split(result.stdout.strip().splitlines()[-1])
    assert argv[0].endswith("spark-submit")
    assert argv[1:] == ["--properties-file", str(properties_file(settings)), str(ENTRY_POINT)]
    cluster = subprocess.run(
        ["binance-cdc", "stream", "--print-command", "--master", "spark://127.0.0.1:7077"],
        cwd=PROJECT_ROOT, env=plain_env(), capture_output=True, text=True, timeout=120, check=True)
    assert "--master spark://127.0.0.1:7077" in cluster.stdout
