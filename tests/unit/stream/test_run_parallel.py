"""A connector write that never returns (a stuck Cassandra session) fails the batch as an
outage after the write timeout, instead of hanging the stream for good."""

from __future__ import annotations

import threading
import time

import pytest

from binance_cdc.errors import SinkError
from binance_cdc.stream.batch import OUTAGE_MARKERS, _run_parallel

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket"
                               ":pytest.PytestUnraisableExceptionWarning"),
]


def test_a_write_stuck_past_the_timeout_is_an_outage(spark) -> None:
    release = threading.Event()
    done: list[str] = []
    started = time.monotonic()
    with pytest.raises(SinkError) as stuck:
        _run_parallel([lambda: done.append("quick"), lambda: release.wait(30)], timeout_s=0.5)
    release.set()
    assert time.monotonic() - started < 5
    assert done == ["quick"]
    assert any(marker in str(stuck.value) for marker in OUTAGE_MARKERS), stuck.value
    assert stuck.value.retryable


def test_failures_are_raised_and_fast_writes_pass(spark) -> None:
    _run_parallel([lambda: None], timeout_s=5)

    def fail() -> None:
        raise ValueError("rejected")

    with pytest.raises(ValueError, match="rejected"):
        _run_parallel([lambda: None, fail], timeout_s=5)
