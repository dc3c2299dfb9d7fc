"""Metrics of the extractor's dataset runs (served by a running extractor, see observe/metrics).

The last successful load is exported as a Unix timestamp (the Prometheus
convention); ``time() - binance_cdc_extract_last_success_timestamp_seconds``
is the number of seconds since. It starts at the extractor's start time, so a
dataset that never loads is noticed after a few intervals too (alert
ExtractorNotLoading in prometheus/rules/alerts.yml).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import Counter, Gauge

ROWS = Counter(
    "binance_cdc_extract_rows", "Rows written to Postgres, by dataset and operation "
    "(insert, update, delete).", ["dataset", "op"])
RUNS = Counter(
    "binance_cdc_extract_runs", "Dataset runs, by dataset and status (ok, partial, failed).",
    ["dataset", "status"])
LAST_SUCCESS = Gauge(
    "binance_cdc_extract_last_success_timestamp_seconds", "When the dataset last loaded "
    "without error (the extractor's start time until it has).", ["dataset"])
INTERVAL = Gauge(
    "binance_cdc_extract_interval_seconds", "Seconds between two polls of the dataset "
    "(EXTRACT_*_INTERVAL_S).", ["dataset"])


def start_datasets(intervals: Mapping[str, float], now: float | None = None) -> None:
    """Declare the scheduled datasets: their interval, and the start time as "last success"."""
    now = time.time() if now is None else now
    for dataset, interval in intervals.items():
        INTERVAL.labels(dataset).set(interval)
        LAST_SUCCESS.labels(dataset).set(now)


def record_run(dataset: str, status: str, inserted: int, updated: int, deleted: int,
               finished_at: float) -> None:
    """Count one dataset run; a run that loaded (ok or partial) moves its last success."""
    RUNS.labels(dataset, status).inc()
    for op, count in (("insert", inserted), ("update", updated), ("delete", deleted)):
        ROWS.labels(dataset, op).inc(count)
    if status != "failed":
        LAST_SUCCESS.labels(dataset).set(finished_at)
