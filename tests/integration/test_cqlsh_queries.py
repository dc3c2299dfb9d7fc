"""The README's cqlsh command, as a user types it, against the real Cassandra."""

from __future__ import annotations

import subprocess

import pytest

from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.sink.schema import apply_schema
from tests.e2e.conftest import plain_env

pytestmark = pytest.mark.cassandra

COMMAND = ["cqlsh", "--credentials", ".stack/cqlsh-credentials", "127.0.0.1", "9042", "-f",
           "cassandra/queries.cql"]


def test_the_readme_cqlsh_command_runs_every_query(settings: Settings) -> None:
    assert " ".join(COMMAND) in (PROJECT_ROOT / "README.md").read_text()
    apply_schema(settings.cassandra)
    result = subprocess.run(COMMAND, cwd=PROJECT_ROOT, env=plain_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SyntaxException" not in result.stderr and "InvalidRequest" not in result.stderr
    # One result header per table the queries read.
    for header in ("updated_at", "open_time", "quantity", "trade_id", "last_price", "error"):
        assert header in result.stdout
