"""The exporter's metric families, built from what each backend returned."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest

from binance_cdc.errors import SinkError
from binance_cdc.observe.metrics.exporter import (
    PipelineCollector,
    lag_families,
    progress_family,
    slot_families,
)
from binance_cdc.observe.metrics.sources import Slot, StreamLag
from binance_cdc.settings import Settings


def samples(families) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in families for s in family.samples}


def test_slots_export_retained_and_unconfirmed_wal_activity_and_the_wal_status() -> None:
    got = samples(slot_families([
        Slot("binance_cdc", True, "reserved", 4_000_000_000, 2048, 512),
        Slot("left_over", False, "lost", None, None, None),
    ]))
    assert got[("binance_cdc_postgres_slot_retained_wal_bytes", (("slot", "binance_cdc"),))] == 2048
    assert got[("binance_cdc_postgres_slot_confirmed_flush_lag_bytes",
                (("slot", "binance_cdc"),))] == 512
    assert got[("binance_cdc_postgres_slot_active", (("slot", "left_over"),))] == 0
    statuses = {labels[1][1]: v for (name, labels), v in got.items()
                if name == "binance_cdc_postgres_slot_wal_status" and labels[0][1] == "left_over"}
    assert statuses == {"reserved": 0, "extended": 0, "unreserved": 0, "lost": 1}
    assert got[("binance_cdc_postgres_slot_safe_wal_size_bytes",
                (("slot", "binance_cdc"),))] == 4_000_000_000
    # Unknown values (a lost slot has no restart LSN) make no sample rather than a 0.
    assert ("binance_cdc_postgres_slot_retained_wal_bytes", (("slot", "left_over"),)) not in got


def test_stream_lag_is_records_and_the_age_of_the_oldest_pending_change_per_topic() -> None:
    got = samples(lag_families(StreamLag({"b.b.klines": 7, "b.b.order_book": 0, "b.b.trades": 2},
                                         {"b.b.klines": 1000.0}), 1012.5))
    assert got[("binance_cdc_stream_consumer_lag_records", (("topic", "b.b.klines"),))] == 7
    assert got[("binance_cdc_stream_consumer_lag_records", (("topic", "b.b.order_book"),))] == 0
    assert got[("binance_cdc_stream_lag_seconds", (("topic", "b.b.klines"),))] == 12.5
    # Nothing pending is no lag; a pending record that could not be read is no sample.
    assert got[("binance_cdc_stream_lag_seconds", (("topic", "b.b.order_book"),))] == 0
    assert ("binance_cdc_stream_lag_seconds", (("topic", "b.b.trades"),)) not in got


def test_last_batch_time_per_query() -> None:
    finished = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)
    got = samples([progress_family({"binance-cdc": finished})])
    assert got[("binance_cdc_stream_last_batch_timestamp_seconds", (("query", "binance-cdc"),))] \
        == finished.timestamp()


class Returns:
    def __init__(self, value: object) -> None:
        self.value = value

    def read(self) -> object:
        if isinstance(self.value, Exception):
            raise self.value
        return self.value

    def close(self) -> None:
        pass


def test_a_backend_that_fails_is_down_and_the_scrape_still_answers() -> None:
    collector = PipelineCollector(Settings())
    collector.readers = {
        "postgres": (Returns([Slot("s", True, "reserved", None, 1, 1)]),
                     lambda slots, now: slot_families(slots)),
        "cassandra": (Returns(SinkError("cannot reach Cassandra")),
                      lambda rows, now: [progress_family(rows)]),
    }
    registry = CollectorRegistry()
    registry.register(collector)
    try:
        text = generate_latest(registry).decode()
    finally:
        collector.close()
    assert 'binance_cdc_exporter_backend_up{backend="postgres"} 1.0' in text
    assert 'binance_cdc_exporter_backend_up{backend="cassandra"} 0.0' in text
    assert 'binance_cdc_postgres_slot_retained_wal_bytes{slot="s"} 1.0' in text
    assert "binance_cdc_stream_last_batch_timestamp_seconds" not in text
