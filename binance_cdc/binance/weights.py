"""Request weights of the endpoints we call, as Binance documents them.

One table for both sides: the client forecasts a call's cost before making it
(so it can wait for the weight budget instead of hitting 429), and the simulator
charges exactly the same amounts. Source: shared/notes/binance-rest.md (2026).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

WEIGHT_LIMIT_PER_MINUTE = 6000
"""Binance's REQUEST_WEIGHT limit per IP and minute."""

_FIXED: dict[str, int] = {
    "/api/v3/ping": 1,
    "/api/v3/time": 1,
    "/api/v3/exchangeInfo": 20,
    "/api/v3/trades": 25,
    "/api/v3/historicalTrades": 25,
    "/api/v3/aggTrades": 4,
    "/api/v3/klines": 2,
    "/api/v3/uiKlines": 2,
    "/api/v3/avgPrice": 2,
}


def _symbol_count(params: Mapping[str, object]) -> int | None:
    """Symbols a request names: 1 for ``symbol``, the list length for ``symbols``, None: all."""
    if params.get("symbol"):
        return 1
    raw = params.get("symbols")
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return len(raw) if isinstance(raw, (list, tuple)) else None


def depth_weight(limit: int) -> int:
    """Weight of /api/v3/depth for ``limit`` levels (the 2023-10 table)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def ticker_24hr_weight(symbol_count: int | None) -> int:
    """Weight of /api/v3/ticker/24hr naming ``symbol_count`` symbols (None: all symbols)."""
    if symbol_count is None or symbol_count > 100:
        return 80
    return 2 if symbol_count <= 20 else 40


def ticker_price_weight(symbol_count: int | None) -> int:
    """Weight of /api/v3/ticker/price: 2 for one symbol, 4 for a list or for all."""
    return 2 if symbol_count == 1 else 4


def request_weight(path: str, params: Mapping[str, object] | None = None) -> int:
    """The documented weight of one GET of ``path`` with ``params``; 1 for paths we do not know."""
    params = params or {}
    if path in _FIXED:
        return _FIXED[path]
    if path == "/api/v3/depth":
        return depth_weight(int(params.get("limit", 100)))  # type: ignore[call-overload]
    if path in ("/api/v3/ticker/24hr",):
        return ticker_24hr_weight(_symbol_count(params))
    if path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        return ticker_price_weight(_symbol_count(params))
    return 1
