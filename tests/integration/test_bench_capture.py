"""`bench capture` against the real Postgres -> Debezium -> Kafka path, with a small N."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from binance_cdc.bench.capture import bench_capture
from binance_cdc.cli.main import main
from binance_cdc.connect.connector import ConnectorDefinition
from binance_cdc.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect]


def bench_rows(settings: Settings, symbol: str) -> int:
    with psycopg.connect(settings.postgres.dsn()) as conn:
        return conn.execute("SELECT count(*) FROM binance.recent_trades WHERE symbol = %s",
                            (symbol,)).fetchone()[0]


def test_every_change_is_counted_and_the_rows_are_removed(
        settings: Settings, connector: ConnectorDefinition) -> None:
    figures = bench_capture(settings, changes=250, batch=40)
    assert figures.changes == 250
    assert figures.cleanup.startswith("deleted 250 rows; their delete events reached Kafka")
    assert bench_rows(settings, figures.symbol) == 0
    assert figures.events_per_s > 0 and figures.commits_per_s > 0
    lat = figures.latency_ms
    assert 0 <= lat.p50 <= lat.p99 <= lat.max < 60_000


def test_rate_paces_the_commits(settings: Settings, connector: ConnectorDefinition) -> None:
    figures = bench_capture(settings, changes=200, batch=20, rate=400)
    assert figures.rate == 400
    assert figures.commit_s >= 0.4  # 10 batches, the last one due at 180/400 s
    assert figures.commits_per_s <= 500


def test_keep_leaves_the_rows(settings: Settings, connector: ConnectorDefinition) -> None:
    figures = bench_capture(settings, changes=30, batch=7, keep=True)
    try:
        assert figures.cleanup == "kept"
        assert bench_rows(settings, figures.symbol) == 30
    finally:
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute("DELETE FROM binance.recent_trades WHERE symbol = %s", (figures.symbol,))


def test_cli_prints_the_figures_and_writes_json(connector: ConnectorDefinition, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "capture.json"
    assert main(["bench", "capture", "--changes", "100", "--batch", "25",
                 "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "events/s" in out and "p99" in out
    result = json.loads(output.read_text())
    assert result["changes"] == 100 and result["batch"] == 25
    assert set(result["latency_ms"]) == {"p50", "p99", "max", "mean"}
    assert result["events_per_s"] > 0
