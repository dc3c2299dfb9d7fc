"""The README's metrics commands as a user runs them, against the running stack:
`binance-cdc stack up prometheus`, `binance-cdc exporter`, a running extractor's /metrics."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.connect.connector import ConnectorDefinition
from binance_cdc.settings import Settings
from binance_cdc.stack.launcher import Stack
from tests.helpers.prometheus import PrometheusApi, background, eventually, free_port, sample, scrape

CLI = [sys.executable, "-m", "binance_cdc"]


@pytest.mark.prometheus
def test_stack_up_prometheus_serves_the_projects_scrape_jobs_and_alert_rules(
        settings: Settings) -> None:
    done = subprocess.run([*CLI, "stack", "up", "prometheus"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode in (0, 1), done.stderr  # 1: another service is unhealthy
    line = next(li for li in done.stdout.splitlines() if li.startswith("prometheus "))
    assert " healthy " in line and settings.prometheus.url in line, done.stdout

    api = PrometheusApi(settings.prometheus.url)
    jobs = {"prometheus", "kafka", "connect", "cassandra", "extractor", "stream", "exporter"}
    eventually("Prometheus lists every scrape job", lambda: set(api.targets()) >= jobs, 30,
               lambda: str(sorted(api.targets())))
    rules = requests.get(f"{api.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    alerts = {r["name"] for g in rules for r in g["rules"] if r["type"] == "alerting"}
    assert {"ReplicationSlotRetainingWal", "StreamBehind", "ConnectorTaskNotRunning",
            "DeadLettersIncreasing", "ExtractorNotLoading", "ServiceDown"} <= alerts
    # "unknown" until the first evaluation; never "err".
    assert not [r for g in rules for r in g["rules"] if r.get("health") == "err"]
    threshold = api.query("binance_cdc:threshold_slot_retained_wal_bytes")
    assert float(threshold[0]["value"][1]) == settings.connect.slot_lag_warn_bytes
    status = {s.name: s for s in Stack(settings).status()}
    assert status["prometheus"].state == "healthy"


@pytest.mark.prometheus
@pytest.mark.parametrize("command", [
    "curl -s 127.0.0.1:9090/api/v1/alerts",
    "curl -s '127.0.0.1:9090/api/v1/query?query=binance_cdc_stream_lag_seconds'",
])
def test_the_readmes_curl_commands_answer(settings: Settings, command: str) -> None:
    assert settings.prometheus.url == "http://127.0.0.1:9090", "the README shows the default port"
    done = subprocess.run(command, shell=True, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "success", done.stdout


@pytest.mark.postgres
@pytest.mark.kafka
@pytest.mark.connect
@pytest.mark.cassandra
def test_exporter_serves_the_slot_and_the_stream_lag_and_stops_on_sigterm(
        settings: Settings, connector: ConnectorDefinition, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "exporter.log"
    with background([*CLI, "exporter", "--port", str(port)], log) as proc:
        text = eventually("the exporter answers", lambda: _try_scrape(proc, port), 60,
                          lambda: log.read_text(errors="replace"))
        slot = connector.slot_name
        assert f'binance_cdc_postgres_slot_retained_wal_bytes{{slot="{slot}"}}' in text
        assert f'binance_cdc_postgres_slot_confirmed_flush_lag_bytes{{slot="{slot}"}}' in text
        assert f'binance_cdc_postgres_slot_active{{slot="{slot}"}} 1.0' in text
        assert (f'binance_cdc_postgres_slot_wal_status{{slot="{slot}",wal_status="reserved"}}'
                in text)
        topic = f"{connector.topic_prefix}.{settings.postgres.schema_name}.latest_prices"
        assert f'binance_cdc_stream_consumer_lag_records{{topic="{topic}"}}' in text
        assert "binance_cdc_stream_lag_seconds " in text
        for backend in ("postgres", "kafka", "cassandra"):
            assert f'binance_cdc_exporter_backend_up{{backend="{backend}"}} 1.0' in text, text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def _try_scrape(proc: subprocess.Popen, port: int) -> str | None:
    assert proc.poll() is None, f"the process exited with {proc.returncode}"
    try:
        return scrape(port)
    except requests.RequestException:
        return None


@pytest.mark.postgres
def test_a_running_extractor_serves_requests_errors_weight_rows_and_last_loads(
        sim, sym, tmp_path: Path) -> None:
    sim.faults.add(Fault("500", path="/api/v3/ticker/price", times=1))
    port = free_port()
    log = tmp_path / "extractor.log"
    started = time.time()
    with background([sys.executable, "extraction_script.py", "--base-url", sim.url,
                     "--symbols", f"{sym('BTCUSDT')},{sym('ETHUSDT')}",
                     "--datasets", "latest_prices,klines"], log,
                    METRICS_EXTRACTOR_PORT=str(port), BINANCE_BACKOFF_BASE_S="0.1") as proc:
        text = eventually(
            "the extractor's first cycle shows in its /metrics",
            lambda: (t := _try_scrape(proc, port)) and 'dataset="klines",status="ok"' in t and t,
            60, lambda: log.read_text(errors="replace"))
    prices = "/api/v3/ticker/price"
    assert sample(text, "binance_cdc_binance_requests_total", endpoint=prices, status="200") >= 1
    assert sample(text, "binance_cdc_binance_requests_total", endpoint=prices, status="500") == 1
    assert sample(text, "binance_cdc_binance_request_errors_total",
                  endpoint=prices, status="500") == 1
    assert sample(text, "binance_cdc_binance_request_errors_total",
                  endpoint=prices, status="200") is None
    assert sample(text, "binance_cdc_binance_weight_budget") == 4800
    assert sample(text, "binance_cdc_binance_weight_used") > 0
    assert sample(text, "binance_cdc_extract_rows_total", dataset="latest_prices", op="insert") == 2
    assert sample(text, "binance_cdc_extract_interval_seconds", dataset="klines") == 60
    assert sample(text, "binance_cdc_extract_last_success_timestamp_seconds",
                  dataset="latest_prices") >= started
    assert sample(text, "process_cpu_seconds_total") > 0
