"""Reconnect backoff, the connection-attempt limit and message pacing (pure, fake clock)."""

from __future__ import annotations

import random

import pytest

from binance_cdc.binance.websocket.policy import AttemptLimiter, MessagePacer, ReconnectBackoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("failures, ceiling", [
    pytest.param(0, 0.5, id="first-retry-within-base"),
    pytest.param(1, 1.0, id="doubles"),
    pytest.param(4, 8.0, id="doubles-again"),
    pytest.param(10, 60.0, id="capped"),
    pytest.param(500, 60.0, id="no-overflow"),
])
def test_backoff_is_full_jitter_under_a_doubling_ceiling(failures, ceiling):
    backoff = ReconnectBackoff(0.5, 60.0, rng=random.Random(1), failures=failures)
    delays = []
    for _ in range(200):
        backoff.failures = failures
        delays.append(backoff.next_delay())
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread, not lockstep


def test_backoff_resets_after_a_healthy_connection():
    backoff = ReconnectBackoff(0.5, 60.0, rng=random.Random(2))
    for _ in range(6):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_two_clients_do_not_reconnect_in_lockstep():
    a = ReconnectBackoff(1.0, 60.0, rng=random.Random(3))
    b = ReconnectBackoff(1.0, 60.0, rng=random.Random(4))
    assert [a.next_delay() for _ in range(5)] != [b.next_delay() for _ in range(5)]


def test_attempt_limiter_holds_300_per_5_minutes():
    clock = Clock()
    limiter = AttemptLimiter(300, 300.0, clock=clock)
    for _ in range(300):
        assert limiter.wait_s() == 0.0
        limiter.record()
        clock.now += 0.1
    assert limiter.wait_s() == pytest.approx(270.0)  # the first attempt leaves the window then
    clock.now += 270.0
    assert limiter.wait_s() == 0.0


def test_attempt_limiter_rejects_a_nonsense_limit():
    with pytest.raises(ValueError):
        AttemptLimiter(0)


@pytest.mark.parametrize("per_s, interval", [
    pytest.param(5.0, 0.25, id="binance-5-per-s-leaves-room-for-ping-and-pong"),
    pytest.param(1.0, 2.0, id="tiny-limit-still-paced"),
])
def test_pacer_spaces_messages(per_s, interval):
    clock = Clock()
    pacer = MessagePacer(per_s, clock=clock)
    assert pacer.wait_s() == 0.0
    pacer.sent()
    assert pacer.wait_s() == pytest.approx(interval)
    clock.now += interval
    assert pacer.wait_s() == 0.0
