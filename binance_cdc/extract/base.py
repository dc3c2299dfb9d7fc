"""What every dataset extraction shares: its inputs, its outcome, per-symbol fetching."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from binance_cdc.binance.client import BinanceClient
from binance_cdc.errors import UnknownSymbolError
from binance_cdc.extract.symbols import SymbolRegistry
from binance_cdc.postgres.store import PostgresStore, WriteCount
from binance_cdc.settings import ExtractSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Context:
    """Everything one dataset run needs."""

    client: BinanceClient
    store: PostgresStore
    settings: ExtractSettings
    registry: SymbolRegistry
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def symbols(self) -> list[str]:
        return self.registry.valid()


@dataclass
class Outcome:
    """What a dataset run wrote, which symbols it loaded or skipped, and any detail for the log."""

    counts: WriteCount = field(default_factory=WriteCount)
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    partial: bool = False


def fetch_per_symbol(ctx: Context, outcome: Outcome,
                     fetch: Callable[[str], T]) -> dict[str, T]:
    """``fetch(symbol)`` for every valid symbol; a symbol the exchange rejects is skipped."""
    results: dict[str, T] = {}
    for symbol in ctx.symbols():
        try:
            results[symbol] = fetch(symbol)
        except UnknownSymbolError as exc:
            ctx.registry.mark_unknown(symbol, str(exc))
            outcome.skipped[symbol] = "not listed (-1121)"
    outcome.loaded = list(results)
    return results


def fetch_multi_symbol(ctx: Context, outcome: Outcome,
                       fetch: Callable[[Sequence[str]], T]) -> tuple[list[str], T | None]:
    """One multi-symbol call for all valid symbols; on -1121 re-validate the list and retry once.

    A ``symbols=[...]`` request fails as a whole if one symbol is unknown, so a
    symbol delisted since the last exchangeInfo check must be found and dropped.
    """
    symbols = ctx.symbols()
    if not symbols:
        return [], None
    try:
        return symbols, fetch(symbols)
    except UnknownSymbolError:
        log.warning("a symbol in %s is no longer listed; checking exchangeInfo again", symbols)
        ctx.registry.invalidate()
        symbols = ctx.symbols()
        return symbols, (fetch(symbols) if symbols else None)


def batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    size = max(1, size)
    return [items[i:i + size] for i in range(0, len(items), size)]
