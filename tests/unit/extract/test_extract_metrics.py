"""Dataset runs as Prometheus metrics: rows by operation, runs by status, the last success."""

from __future__ import annotations

from prometheus_client import REGISTRY

from binance_cdc.extract import metrics


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_declared_datasets_start_with_their_interval_and_the_start_time_as_last_success() -> None:
    metrics.start_datasets({"t_declared": 30.0}, now=1000.0)
    assert sample("binance_cdc_extract_interval_seconds", dataset="t_declared") == 30.0
    assert sample("binance_cdc_extract_last_success_timestamp_seconds", dataset="t_declared") == 1000.0


def test_a_successful_run_counts_rows_by_operation_and_moves_the_last_success() -> None:
    metrics.start_datasets({"t_ok": 10.0}, now=1000.0)
    metrics.record_run("t_ok", "ok", inserted=5, updated=2, deleted=1, finished_at=1010.0)
    metrics.record_run("t_ok", "partial", inserted=1, updated=0, deleted=0, finished_at=1020.0)
    rows = {op: sample("binance_cdc_extract_rows_total", dataset="t_ok", op=op)
            for op in ("insert", "update", "delete")}
    assert rows == {"insert": 6, "update": 2, "delete": 1}
    assert sample("binance_cdc_extract_runs_total", dataset="t_ok", status="partial") == 1
    assert sample("binance_cdc_extract_last_success_timestamp_seconds", dataset="t_ok") == 1020.0


def test_a_failed_run_leaves_the_last_success_where_it_was() -> None:
    metrics.start_datasets({"t_failed": 10.0}, now=1000.0)
    metrics.record_run("t_failed", "failed", inserted=0, updated=0, deleted=0, finished_at=1500.0)
    assert sample("binance_cdc_extract_runs_total", dataset="t_failed", status="failed") == 1
    assert sample("binance_cdc_extract_last_success_timestamp_seconds", dataset="t_failed") == 1000.0
