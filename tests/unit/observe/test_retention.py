"""How close the stream is to Kafka's retention, from offsets and times (pure)."""

from __future__ import annotations

from binance_cdc.cli.status_cmd import _topics
from binance_cdc.observe.checkpoint import records_lost
from binance_cdc.observe.report import TopicRow, TopicsSection


def test_records_lost_are_those_below_the_earliest_retained_offset() -> None:
    marks = {0: (100, 500), 1: (0, 50), 2: (10, 20)}
    assert records_lost(marks, {0: 40, 1: 50, 2: 15}) == 60
    assert records_lost(marks, {0: 100}) == 0
    assert records_lost(marks, None) == 0  # the stream never read it: nothing it skipped


def test_status_reports_loss_as_an_error_and_near_loss_as_a_warning() -> None:
    hour = 3_600_000
    rows = [TopicRow("binance.binance.klines", {0: 10}, {0: 5}, 5, lost=3),
            TopicRow("binance.binance.order_book", {0: 10}, {0: 5}, 5, retention_ms=10 * hour,
                     oldest_unapplied_ms=6 * hour),
            TopicRow("binance.binance.latest_prices", {0: 10}, {0: 5}, 5, retention_ms=10 * hour,
                     oldest_unapplied_ms=hour)]
    section = TopicsSection(topics=rows, checkpoint_batch=7, checkpoint_committed=True)

    class Report:
        topics = section

    lines = "\n".join(_topics(Report()))  # type: ignore[arg-type]
    assert "ERROR: binance.binance.klines: Kafka's retention deleted 3 records" in lines
    assert "binance-cdc connector snapshot TABLE" in lines
    assert "WARNING: binance.binance.order_book: the oldest change the stream has not applied " \
           "is 60% of the way" in lines
    assert "latest_prices: the oldest" not in lines
