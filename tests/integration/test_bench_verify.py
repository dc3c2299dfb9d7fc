"""`binance-cdc bench verify` as the README runs it, with a small N; and `status` estimates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from binance_cdc.bench.sandbox import Sandbox, trade_rows
from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.observe.counts import count_rows
from binance_cdc.observe.report import CassandraSection
from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.sink.connection import cassandra_session

pytestmark = [pytest.mark.postgres, pytest.mark.cassandra]


def test_bench_verify_finds_exactly_the_planted_differences(settings: Settings,
                                                            tmp_path: Path) -> None:
    output = tmp_path / "verify.json"
    done = subprocess.run([sys.executable, "-m", "binance_cdc", "bench", "verify", "--rows", "3000",
                           "--output", str(output)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "planted 4 differences; verify found 4: exactly them" in done.stdout
    assert "peak RSS" in done.stdout and "rows/s" in done.stdout
    figures = json.loads(output.read_text())
    assert figures["exact"] is True
    assert figures["matching"]["exit_status"] == 0 and figures["planted_run"]["exit_status"] == 1
    assert set(figures["matching"]["tables"]) == {"recent_trades", "trades_by_day"}
    assert 0 < figures["matching"]["peak_rss_mb"] < 300
    with psycopg.connect(settings.postgres.dsn()) as conn:
        left = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                            (figures["sandbox"],)).fetchone()[0]
    assert left == 0, f"sandbox schema {figures['sandbox']} was not dropped"


def test_status_shows_an_estimate_for_a_table_too_large_to_count(settings: Settings) -> None:
    box = Sandbox.create(settings, prefix="t_counts")
    try:
        box.copy_into_postgres(RECENT_TRADES.name, RECENT_TRADES.column_names,
                               trade_rows(1000, symbols=["CNT"]))
        with psycopg.connect(box.settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute(f'ANALYZE "{box.name}".recent_trades')
        section = CassandraSection()
        with cassandra_session(box.settings.cassandra, keyspace=box.name) as session:
            count_rows(box.settings, session, section, exact_below=500)
    finally:
        box.drop()
    assert section.counts["recent_trades"] == 1000
    assert section.estimated["recent_trades"] == "Postgres statistics of recent_trades"
    assert section.counts["klines"] == 0 and "klines" not in section.estimated
    assert section.counts["trades_by_day"] == 1000  # estimated from its source's statistics
    assert None not in section.counts.values()
