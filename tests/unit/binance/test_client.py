"""The client against the in-process simulator: errors translated, retries per policy."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from binance_cdc.binance.client import BinanceClient
from binance_cdc.binance.policy import RetryPolicy, WeightBudget
from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.errors import (
    BinanceServerError,
    IpBannedError,
    PayloadError,
    RateLimitedError,
    UnknownSymbolError,
)
from binance_cdc.settings import BinanceSettings


def make_client(url: str, sleeps: list[float], **settings: object) -> BinanceClient:
    return BinanceClient(BinanceSettings(base_url=url, **settings), sleep=sleeps.append)


def test_numbers_arrive_as_exact_decimals(sim):
    client = make_client(sim.url, [])
    prices = client.ticker_price(["PEPEUSDT", "币安人生USDT", "1000SATSUSDT"])
    assert [p["symbol"] for p in prices] == ["PEPEUSDT", "币安人生USDT", "1000SATSUSDT"]
    assert prices[0]["price"] == "0.00000812"
    assert client.stats.requests == 1 and client.stats.weight == 4
    assert client.budget.used == 4  # from X-MBX-USED-WEIGHT-1M


def test_429_waits_exactly_retry_after_then_succeeds(sim):
    sim.faults.add(Fault("429", path="/api/v3/depth", retry_after=3))
    sleeps: list[float] = []
    client = make_client(sim.url, sleeps)
    book = client.depth("BTCUSDT", 5)
    assert len(book["bids"]) == 5
    assert sleeps == [3.0]
    assert client.stats.retries == 1 and client.stats.waited_s == 3.0


def test_429_with_too_long_retry_after_fails(sim):
    sim.faults.add(Fault("429", retry_after=500))
    with pytest.raises(RateLimitedError) as info:
        make_client(sim.url, [], max_retry_after_s=60).depth("BTCUSDT", 5)
    assert info.value.retry_after == 500


def test_418_stops_every_further_call(sim):
    sim.faults.add(Fault("418", retry_after=120))
    client = make_client(sim.url, [])
    with pytest.raises(IpBannedError, match="banned"):
        client.trades("BTCUSDT", 10)
    calls = sum(sim.requests.values())
    with pytest.raises(IpBannedError):
        client.ticker_price(["BTCUSDT"])
    assert sum(sim.requests.values()) == calls  # the server never saw the second call


def test_500_is_retried_with_backoff(sim):
    sim.faults.add(Fault("500", times=2))
    sleeps: list[float] = []
    client = make_client(sim.url, sleeps, backoff_base_s=0.5)
    assert client.server_time_ms() == 1_800_000_000_000
    assert sleeps == [0.5, 1.0]


def test_500_beyond_max_retries_fails(sim):
    sim.faults.add(Fault("500", times=None))
    sleeps: list[float] = []
    with pytest.raises(BinanceServerError, match="HTTP 500"):
        make_client(sim.url, sleeps, max_retries=2).ping()
    assert len(sleeps) == 2


def test_timeout_is_a_retryable_server_error(sim):
    sim.faults.add(Fault("slow", delay_s=1.0))
    sleeps: list[float] = []
    client = make_client(sim.url, sleeps, timeout_s=0.2)
    assert client.server_time_ms() > 0
    assert len(sleeps) == 1


def test_connection_refused_is_a_server_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens here
    with pytest.raises(BinanceServerError, match="BINANCE_BASE_URL"):
        make_client(f"http://127.0.0.1:{port}", [], max_retries=1).ping()


def test_malformed_json_names_endpoint_and_symbol(sim):
    sim.faults.add(Fault("malformed", path="/api/v3/trades"))
    with pytest.raises(PayloadError) as info:
        make_client(sim.url, []).trades("ETHUSDT", 5)
    assert info.value.endpoint == "/api/v3/trades" and info.value.symbol == "ETHUSDT"


def test_unknown_symbol(sim):
    client = make_client(sim.url, [])
    with pytest.raises(UnknownSymbolError, match="MATICUSDT"):
        client.trades("MATICUSDT", 5)
    with pytest.raises(UnknownSymbolError):
        client.ticker_24hr(["BTCUSDT", "MATICUSDT"])  # one unknown fails the whole call


def test_budget_makes_the_client_wait_before_the_limit(sim):
    sleeps: list[float] = []
    client = BinanceClient(BinanceSettings(base_url=sim.url), budget=WeightBudget(30),
                           policy=RetryPolicy(), sleep=sleeps.append)
    client.trades("BTCUSDT", 5)
    assert sleeps == []
    client.trades("BTCUSDT", 5)
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 60


def test_json_decimal_numbers(sim):
    info = make_client(sim.url, []).exchange_info(["BTCUSDT"])
    assert info["symbols"][0]["symbol"] == "BTCUSDT"
    assert isinstance(info["rateLimits"][0]["limit"], int)
    assert not any(isinstance(v, float) for v in info.values())
    assert Decimal(info["symbols"][0]["filters"][0]["tickSize"]) == Decimal("0.01")
