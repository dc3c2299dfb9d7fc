"""Metrics of the Binance REST client (served by the extractor, see observe/metrics).

Labelled by endpoint path (a dozen at most) and HTTP status, never by symbol or
full URL, so the number of series stays small whatever the symbol list.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

NO_ANSWER = "none"
"""The status label of a call that got no HTTP answer (connection error, timeout)."""

REQUESTS = Counter(
    "binance_cdc_binance_requests", "HTTP requests to the Binance REST API, by endpoint and "
    "status (none: no answer).", ["endpoint", "status"])
ERRORS = Counter(
    "binance_cdc_binance_request_errors", "Requests that failed: no answer, a status other than "
    "200, or a body that is not valid JSON; by endpoint and status.", ["endpoint", "status"])
WEIGHT_USED = Gauge(
    "binance_cdc_binance_weight_used", "Request weight used in the current minute "
    "(X-MBX-USED-WEIGHT-1M, or our own count until an answer carries it).")
WEIGHT_BUDGET = Gauge(
    "binance_cdc_binance_weight_budget", "Weight per minute the client allows itself "
    "(BINANCE_WEIGHT_BUDGET_PER_MINUTE; the exchange's limit is 6000).")


def record_call(endpoint: str, status: int | None, *, failed: bool, weight_used: int) -> None:
    """Count one HTTP call and note the weight used so far this minute."""
    label = NO_ANSWER if status is None else str(status)
    REQUESTS.labels(endpoint, label).inc()
    if failed:
        ERRORS.labels(endpoint, label).inc()
    WEIGHT_USED.set(weight_used)
