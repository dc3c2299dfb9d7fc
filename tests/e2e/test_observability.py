"""Every stage of the pipeline in a real Prometheus, and the stream-lag alert on a real stop.

One Prometheus for the module (launcher-started, scraping every second) with the
stack's JMX agents, an exporter reading the stream job's checkpoint, a running
extractor on an in-process simulator, and the stream job of the session.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.binance.simulator.market import Market
from binance_cdc.binance.simulator.server import SimulatorServer
from binance_cdc.connect.connector import ConnectorDefinition
from binance_cdc.settings import Settings
from tests.e2e.conftest import StreamJob, write_fence
from tests.helpers.prometheus import (
    PrometheusApi,
    background,
    eventually,
    exporter_process,
    fast_prometheus,
    free_port,
    override,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect,
              pytest.mark.cassandra, pytest.mark.spark, pytest.mark.prometheus]

STREAM_LAG_ALERT_S = 10.0
TOPIC = "binance.binance.latest_prices"
"""The topic the alert test writes to (other topics may have their own backlog)."""

# One family at least per stage, with the labels that must be there (the list).
FAMILIES = {
    "extractor": ['binance_cdc_binance_requests_total{status="200"}',
                  'binance_cdc_binance_request_errors_total{status="500"}',
                  "binance_cdc_binance_weight_used", "binance_cdc_binance_weight_budget",
                  'binance_cdc_extract_rows_total{dataset="latest_prices"}',
                  'binance_cdc_extract_last_success_timestamp_seconds{dataset="latest_prices"}'],
    "postgres": ['binance_cdc_postgres_slot_retained_wal_bytes{slot="binance_cdc"}',
                 'binance_cdc_postgres_slot_confirmed_flush_lag_bytes{slot="binance_cdc"}',
                 'binance_cdc_postgres_slot_wal_status{slot="binance_cdc"}'],
    "connect": ['kafka_connect_connector_task_status{connector="binance-postgres",status="running"}',
                'kafka_connect_connector_status{connector="binance-postgres"}',
                'debezium_streaming_behind_source_seconds{server="binance"}',
                'debezium_streaming_connected{server="binance"}',
                'debezium_streaming_events_total{server="binance"}'],
    "kafka": ["kafka_server_messages_in_total", "kafka_controller_active_controllers",
              'kafka_log_size_bytes{topic="binance.binance.latest_prices"}'],
    "cassandra": ['cassandra_client_requests_total{operation="Write"}',
                  "cassandra_storage_load_bytes", "cassandra_dropped_messages_total"],
    "stream (exporter)": ['binance_cdc_stream_consumer_lag_records{topic="binance.binance.latest_prices"}',
                          "binance_cdc_stream_lag_seconds",
                          'binance_cdc_stream_last_batch_timestamp_seconds{query=~"binance-cdc.*"}'],
}
STREAM_JOB_FAMILIES = [
    "binance_cdc_stream_records_total", 'binance_cdc_stream_rows_written_total{op="upsert"}',
    "binance_cdc_stream_dead_letters_total", "binance_cdc_stream_batches_total",
    "binance_cdc_stream_batch_duration_seconds_bucket",
    "binance_cdc_stream_commit_to_written_lag_seconds",
]


@dataclass
class Observed:
    api: PrometheusApi
    settings: Settings


@pytest.fixture(scope="module")
def observed(settings: Settings, connector: ConnectorDefinition, stream_job: StreamJob,
             tmp_path_factory) -> Iterator[Observed]:
    work = tmp_path_factory.mktemp("observed")
    suffix = f"_{uuid.uuid4().hex[:8]}"
    sim = SimulatorServer(Market(5, symbol_suffix=suffix, history_minutes=30)).start()
    sim.faults.add(Fault("500", path="/api/v3/ticker/price", times=1))
    extractor_port = free_port()
    try:
        # The job's own environment, so the exporter reads the checkpoints the job writes.
        with exporter_process(work / "exporter.log", stream_job.env) as exporter_port, \
             background([sys.executable, "extraction_script.py", "--base-url", sim.url,
                         "--symbols", f"BTCUSDT{suffix},ETHUSDT{suffix}",
                         "--datasets", "latest_prices,klines"], work / "extractor.log",
                        METRICS_EXTRACTOR_PORT=str(extractor_port),
                        BINANCE_BACKOFF_BASE_S="0.1"):
            watched = override(settings,
                               metrics={"exporter_port": exporter_port,
                                        "extractor_port": extractor_port},
                               prometheus={"alert_stream_lag_s": STREAM_LAG_ALERT_S})
            with fast_prometheus(watched, work / "prometheus") as api:
                yield Observed(api, watched)
    finally:
        sim.stop()


def _missing(api: PrometheusApi, selectors: list[str]) -> list[str]:
    return [s for s in selectors if not api.query(s)]


def test_prometheus_has_a_sample_of_every_family_from_every_stage(observed: Observed) -> None:
    api = observed.api
    selectors = [s for stage in FAMILIES.values() for s in stage]
    eventually("every family has a sample", lambda: not _missing(api, selectors), 60,
               lambda: f"missing: {_missing(api, selectors)}; targets: "
                       f"{ {j: t['health'] + ' ' + t['lastError'] for j, t in api.targets().items()} }")


def test_the_stream_job_serves_its_families(observed: Observed, stream_job: StreamJob) -> None:
    write_fence(observed.settings, f"FENCE{time.monotonic_ns()}")
    eventually("the stream job's families have samples",
               lambda: not _missing(observed.api, STREAM_JOB_FAMILIES), 60,
               lambda: f"missing: {_missing(observed.api, STREAM_JOB_FAMILIES)}; stream target: "
                       f"{observed.api.targets().get('stream')}")


def _write_changes(settings: Settings, symbol: str, stop: threading.Event) -> None:
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        price = 1
        while not stop.is_set():
            conn.execute("INSERT INTO binance.latest_prices VALUES (%s, %s, now()) ON CONFLICT "
                         "(symbol) DO UPDATE SET price = EXCLUDED.price, updated_at = now()",
                         (symbol, price))
            price += 1
            time.sleep(0.05)


def _lag(api: PrometheusApi) -> float:
    result = api.query(f'binance_cdc_stream_lag_seconds{{topic="{TOPIC}"}}')
    return float(result[0]["value"][1]) if result else float("inf")


def _behind(api: PrometheusApi, state: str = "firing") -> list[dict]:
    return [a for a in api.alerts("StreamBehind", state) if a["labels"]["topic"] == TOPIC]


def test_stream_behind_fires_when_the_stream_stops_and_resolves_when_it_runs_again(
        observed: Observed, stream_job: StreamJob, unique_name: str) -> None:
    api = observed.api
    stop = threading.Event()
    writer = threading.Thread(target=_write_changes, args=(observed.settings, unique_name, stop))
    writer.start()
    try:
        eventually("the running stream keeps up (lag under half the threshold, no alert)",
                   lambda: _lag(api) < STREAM_LAG_ALERT_S / 2 and not _behind(api),
                   90, lambda: f"lag: {_lag(api)} s\n{stream_job.log_tail()}")
        stopping = time.monotonic()
        stream_job.stop()
        firing = eventually("StreamBehind fires", lambda: _behind(api), 60,
                            lambda: f"lag: {_lag(api)} s")
        assert float(firing[0]["value"]) > STREAM_LAG_ALERT_S
        assert time.monotonic() - stopping >= STREAM_LAG_ALERT_S / 2
        stream_job.start()
        eventually("StreamBehind resolves once the job is back",
                   lambda: not _behind(api) and not _behind(api, "pending"),
                   240, lambda: f"lag: {_lag(api)} s\n{stream_job.log_tail()}")
    finally:
        stop.set()
        writer.join(10)
        if stream_job.process is None:
            stream_job.start()
        fence = f"FENCE{time.monotonic_ns()}"
        write_fence(observed.settings, fence)
        stream_job.wait_replicated(fence, timeout_s=240)

