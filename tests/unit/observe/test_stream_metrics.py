"""The stream's metric families and the idempotent /metrics server the driver starts."""

from __future__ import annotations

import logging
import socket

import pytest
import requests
from prometheus_client import CollectorRegistry

from binance_cdc.observe.metrics.server import stop_serving
from binance_cdc.observe.metrics.stream import StreamMetrics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def metrics() -> StreamMetrics:
    return StreamMetrics(CollectorRegistry())


def value(metrics: StreamMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_batch_adds_rows_by_table_and_op_records_dead_letters_and_its_duration(metrics) -> None:
    metrics.record_batch({("klines", "upsert"): 12, ("order_book", "delete"): 3,
                          ("latest_prices", "upsert"): 0}, dead_letters=2, duration_s=0.4,
                         commit_to_written_lag_s=0.9, records=20)
    metrics.record_batch({("klines", "upsert"): 1}, dead_letters=0, duration_s=3.0,
                         commit_to_written_lag_s=1.5)
    assert value(metrics, "binance_cdc_stream_rows_written_total", table="klines", op="upsert") == 13
    assert value(metrics, "binance_cdc_stream_rows_written_total",
                 table="order_book", op="delete") == 3
    # A table and op with nothing written makes no series.
    assert value(metrics, "binance_cdc_stream_rows_written_total",
                 table="latest_prices", op="upsert") is None
    assert value(metrics, "binance_cdc_stream_records_total") == 21  # 20, then rows + dead letters
    assert value(metrics, "binance_cdc_stream_dead_letters_total") == 2
    assert value(metrics, "binance_cdc_stream_batches_total") == 2
    assert value(metrics, "binance_cdc_stream_batch_duration_seconds_count") == 2
    assert value(metrics, "binance_cdc_stream_batch_duration_seconds_sum") == pytest.approx(3.4)
    assert value(metrics, "binance_cdc_stream_batch_duration_seconds_bucket", le="0.5") == 1
    assert value(metrics, "binance_cdc_stream_commit_to_written_lag_seconds") == 1.5


def test_a_batch_without_a_commit_time_keeps_the_last_lag(metrics) -> None:
    metrics.record_batch({}, dead_letters=0, duration_s=0.1, commit_to_written_lag_s=2.0)
    metrics.record_batch({}, dead_letters=1, duration_s=0.1, commit_to_written_lag_s=None)
    assert value(metrics, "binance_cdc_stream_commit_to_written_lag_seconds") == 2.0


def test_port_zero_serves_nothing(metrics) -> None:
    assert metrics.start(0) is False


def test_start_serves_the_families_once_and_a_second_start_is_a_no_op(metrics) -> None:
    port = free_port()
    try:
        assert metrics.start(port) is True
        assert metrics.start(port) is True
        metrics.record_batch({("klines", "upsert"): 4}, dead_letters=0, duration_s=0.2,
                             commit_to_written_lag_s=0.5)
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        stop_serving(port)
    assert 'binance_cdc_stream_rows_written_total{op="upsert",table="klines"} 4.0' in text
    assert "binance_cdc_stream_batch_duration_seconds_bucket" in text
    assert "_created" not in text


def test_a_taken_port_is_logged_and_the_stream_goes_on(metrics, caplog) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with caplog.at_level(logging.WARNING):
            assert metrics.start(port) is False
    assert f"127.0.0.1:{port}" in caplog.text and "METRICS_" in caplog.text
    metrics.record_batch({}, dead_letters=0, duration_s=0.1, commit_to_written_lag_s=None)
