"""Retry policy, weight budget and request deadline: explicit decisions, no sleeping."""

from __future__ import annotations

import pytest

from binance_cdc.binance.policy import Deadline, RetryPolicy, WeightBudget
from binance_cdc.binance.weights import request_weight
from binance_cdc.errors import (
    BinanceApiError,
    BinanceServerError,
    IpBannedError,
    PayloadError,
    RateLimitedError,
    RejectedValueError,
    RequestDeadlineError,
    ResponseTooLargeError,
    UnknownSymbolError,
)

POLICY = RetryPolicy(max_retries=3, backoff_base_s=0.5, backoff_max_s=1.5, max_retry_after_s=60)


@pytest.mark.parametrize("error, attempt, expected", [
    pytest.param(BinanceServerError("500", status=500), 0, 0.5, id="5xx-first"),
    pytest.param(BinanceServerError("conn"), 1, 1.0, id="connection-doubles"),
    pytest.param(BinanceServerError("502", status=502), 2, 1.5, id="capped"),
    pytest.param(BinanceServerError("503", status=503), 3, None, id="out-of-retries"),
    pytest.param(BinanceServerError("501", status=501, retryable=False), 0, None,
                 id="5xx-not-worth-retrying"),
    pytest.param(RateLimitedError("429", retry_after=7), 0, 7, id="429-waits-retry-after"),
    pytest.param(RateLimitedError("429", retry_after=7), 2, 7, id="429-no-backoff-growth"),
    pytest.param(RateLimitedError("429", retry_after=600), 0, None, id="429-too-long"),
    pytest.param(IpBannedError("418", retry_after=120), 0, None, id="418-never"),
    pytest.param(UnknownSymbolError("MATICUSDT"), 0, None, id="unknown-symbol-never"),
    pytest.param(PayloadError("bad", endpoint="/x"), 0, None, id="payload-never"),
    pytest.param(BinanceApiError("400", status=400, code=-1102), 0, None, id="4xx-never"),
    pytest.param(RequestDeadlineError("late", endpoint="/x", deadline_s=1, elapsed_s=1,
                                      attempts=1), 0, None, id="past-deadline-never"),
    pytest.param(ResponseTooLargeError(endpoint="/x", size=2, limit=1, setting="S",
                                       declared=True), 0, None, id="too-large-never"),
    pytest.param(RejectedValueError("bad", dataset="d", endpoint="/x", symbol="S", field="f",
                                    value=-1), 0, None, id="rejected-value-never"),
])
def test_retry_policy(error, attempt, expected):
    assert POLICY.delay(attempt, error) == expected


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_budget_allows_until_the_limit_then_waits_for_the_next_window():
    clock = FakeClock(60 * 1000 + 20.0)  # 20 s into a one-minute window
    budget = WeightBudget(100, clock=clock)
    assert budget.wait_for(25) == 0
    for _ in range(4):
        budget.spend(25)
    assert budget.used == 100 and budget.headroom() == 0
    assert budget.wait_for(25) == pytest.approx(40.0)
    clock.now += 40.0  # next window
    assert budget.used == 0 and budget.wait_for(25) == 0


def test_budget_trusts_the_servers_header():
    clock = FakeClock(60.0 * 5)
    budget = WeightBudget(4800, clock=clock)
    budget.spend(5)
    budget.observe("4790")  # other clients on the same IP used weight too
    assert budget.used == 4790
    assert budget.wait_for(25) == pytest.approx(60.0)
    budget.observe(None)
    budget.observe("garbage")
    assert budget.used == 4790


def test_a_call_bigger_than_the_budget_still_runs_in_a_fresh_window():
    budget = WeightBudget(10, clock=FakeClock(120.0))
    assert budget.wait_for(80) == 0


@pytest.mark.parametrize("path, params, weight", [
    ("/api/v3/trades", {"symbol": "X"}, 25),
    ("/api/v3/historicalTrades", {"symbol": "X"}, 25),
    ("/api/v3/depth", {"symbol": "X", "limit": 20}, 5),
    ("/api/v3/depth", {"symbol": "X", "limit": 500}, 25),
    ("/api/v3/depth", {"symbol": "X", "limit": 1000}, 50),
    ("/api/v3/depth", {"symbol": "X", "limit": 5000}, 250),
    ("/api/v3/klines", {"symbol": "X"}, 2),
    ("/api/v3/ticker/24hr", {"symbol": "X"}, 2),
    ("/api/v3/ticker/24hr", {"symbols": '["A","B"]'}, 2),
    ("/api/v3/ticker/24hr", {"symbols": str([f"S{i}" for i in range(21)]).replace("'", '"')}, 40),
    ("/api/v3/ticker/24hr", {}, 80),
    ("/api/v3/ticker/price", {"symbol": "X"}, 2),
    ("/api/v3/ticker/price", {"symbols": '["A","B"]'}, 4),
    ("/api/v3/exchangeInfo", {}, 20),
    ("/api/v3/time", {}, 1),
])
def test_documented_weights(path, params, weight):
    assert request_weight(path, params) == weight


def test_deadline_counts_from_its_start_and_clamps_each_wait():
    clock = FakeClock(100.0)
    deadline = Deadline(10.0, clock=clock)
    assert deadline.timeout(3.0) == 3.0  # plenty left: the per-wait timeout
    clock.now = 108.5
    assert deadline.remaining() == pytest.approx(1.5)
    assert deadline.timeout(3.0) == pytest.approx(1.5)  # less left than one wait
    assert deadline.allows(1.0) and not deadline.allows(1.5) and not deadline.expired()
    clock.now = 111.0
    assert deadline.remaining() == 0 and deadline.expired() and not deadline.allows(0)
    assert deadline.timeout(3.0) > 0  # never 0: a socket timeout of 0 means non-blocking


def test_deadline_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        Deadline(0)
