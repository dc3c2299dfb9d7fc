"""Which configured symbols the exchange lists, checked against /api/v3/exchangeInfo.

Checked once (and again every ``refresh_s``): a multi-symbol ``symbols=[...]``
request fails as a whole when one symbol is unknown (-1121), so unknown,
delisted or renamed symbols (e.g. MATICUSDT, now POL) are reported and left
out up front while the others load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from binance_cdc.binance.client import BinanceClient
from binance_cdc.binance.parse import exchange_symbols
from binance_cdc.errors import UnknownSymbolError

log = logging.getLogger(__name__)


class SymbolRegistry:
    """The configured symbols, minus those the exchange does not list as TRADING."""

    def __init__(self, client: BinanceClient, configured: list[str], *, refresh_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.configured = list(dict.fromkeys(configured))  # keep order, drop duplicates
        self.refresh_s = refresh_s
        self._clock = clock
        self._checked_at: float | None = None
        self._valid: list[str] = []
        self.skipped: dict[str, str] = {}

    def invalidate(self) -> None:
        self._checked_at = None

    def valid(self) -> list[str]:
        """The symbols to extract now (re-checks exchangeInfo when stale)."""
        now = self._clock()
        if self._checked_at is None or now - self._checked_at > self.refresh_s:
            self._check()
            self._checked_at = now
        return list(self._valid)

    def current(self) -> list[str]:
        """The last checked list, without checking (empty before the first check)."""
        return list(self._valid)

    def mark_unknown(self, symbol: str, reason: str) -> None:
        """Drop ``symbol`` until the next check (a per-symbol call answered -1121)."""
        if symbol in self._valid:
            self._valid.remove(symbol)
            self.skipped[symbol] = reason
            log.warning("symbol %r skipped: %s", symbol, reason)

    def _check(self) -> None:
        if not self.configured:
            self._valid, self.skipped = [], {}
            return
        try:
            listed = exchange_symbols(self.client.exchange_info(self.configured))
        except UnknownSymbolError:
            # One of them is unknown and the error does not say which: ask for all.
            listed = exchange_symbols(self.client.exchange_info())
        self._valid, self.skipped = [], {}
        for symbol in self.configured:
            status = listed.get(symbol)
            if status == "TRADING":
                self._valid.append(symbol)
            else:
                self.skipped[symbol] = (f"status {status}" if status else
                                        "not listed on the exchange (delisted or renamed?)")
                log.warning("symbol %r skipped: %s; remove it from BINANCE_SYMBOLS",
                            symbol, self.skipped[symbol])
