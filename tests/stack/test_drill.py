"""The fault drill as a test: kill -9 Connect, the stream job, Kafka and
Cassandra in turn under steady load; verify must find no difference."""

from __future__ import annotations

import pytest

from binance_cdc.drill import VICTIMS, run_drill
from binance_cdc.settings import Settings
from binance_cdc.stack.apps import stream_app

pytestmark = [pytest.mark.stack, pytest.mark.e2e, pytest.mark.spark]


def test_every_kill_9_recovers_and_nothing_is_lost(settings: Settings, connector) -> None:
    try:
        report = run_drill(settings, rate=200, settle_s=3, timeout_s=600)
    finally:
        stream_app(settings).stop()
    assert [r.victim for r in report.recoveries] == list(VICTIMS)
    assert all(r.recovered_s < 240 for r in report.recoveries)
    assert report.changes > 0
    assert report.verify.matches, report.verify
    for r in report.recoveries:
        print(f"\n{r.victim}: running again after {r.down_s:.1f}s, flowing after {r.recovered_s:.1f}s")
