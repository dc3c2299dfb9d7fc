"""The client counts every HTTP call by endpoint and status, and its weight, for Prometheus."""

from __future__ import annotations

import socket

import pytest
from prometheus_client import REGISTRY

from binance_cdc.binance.client import BinanceClient
from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.errors import BinanceServerError, PayloadError
from binance_cdc.settings import BinanceSettings


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counts(endpoint: str, status: str) -> tuple[float, float]:
    labels = {"endpoint": endpoint, "status": status}
    return (sample("binance_cdc_binance_requests_total", **labels),
            sample("binance_cdc_binance_request_errors_total", **labels))


def client(url: str, **settings: object) -> BinanceClient:
    return BinanceClient(BinanceSettings(base_url=url, **settings), sleep=lambda s: None)


def test_a_429_then_a_200_count_two_requests_and_one_error(sim) -> None:
    sim.faults.add(Fault("429", path="/api/v3/depth", retry_after=1))
    ok_before, too_many_before = counts("/api/v3/depth", "200"), counts("/api/v3/depth", "429")
    client(sim.url).depth("BTCUSDT", 5)
    ok, too_many = counts("/api/v3/depth", "200"), counts("/api/v3/depth", "429")
    assert (ok[0] - ok_before[0], ok[1] - ok_before[1]) == (1, 0)
    assert (too_many[0] - too_many_before[0], too_many[1] - too_many_before[1]) == (1, 1)


def test_a_body_that_is_not_json_is_an_error_with_status_200(sim) -> None:
    sim.faults.add(Fault("malformed", path="/api/v3/trades"))
    before = counts("/api/v3/trades", "200")
    with pytest.raises(PayloadError):
        client(sim.url).trades("ETHUSDT", 5)
    after = counts("/api/v3/trades", "200")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_no_answer_counts_as_status_none() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens here
    before = counts("/api/v3/ping", "none")
    with pytest.raises(BinanceServerError):
        client(f"http://127.0.0.1:{port}", max_retries=1).ping()
    after = counts("/api/v3/ping", "none")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 2)  # the call and its retry


def test_weight_used_follows_the_exchange_header_and_the_budget_is_exported(sim) -> None:
    c = client(sim.url, weight_budget_per_minute=1234)
    c.ticker_price(["BTCUSDT", "ETHUSDT"])
    assert sample("binance_cdc_binance_weight_budget") == 1234
    assert sample("binance_cdc_binance_weight_used") == c.budget.used > 0
