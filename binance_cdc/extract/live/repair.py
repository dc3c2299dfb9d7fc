"""Repair a symbol's missing trade ids from /historicalTrades (in a worker thread).

Uses the REST extractor's client, weight budget and page fetcher
(:func:`binance_cdc.extract.trades.fetch_range`), so live repairs and polls
share one budget and one parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from binance_cdc.binance.client import BinanceClient
from binance_cdc.extract.live.tracker import Gap, Range
from binance_cdc.extract.trades import fetch_range


@dataclass
class Repair:
    """What one repair round fetched for one symbol and what is still open."""

    symbol: str
    rows: list[tuple[object, ...]] = field(default_factory=list)
    absent: list[Gap] = field(default_factory=list)
    """Ids /historicalTrades skipped over: the exchange has no such trade."""
    not_yet: list[Gap] = field(default_factory=list)
    """Due ids beyond the exchange's newest answer: asked again later."""
    caught_up: bool = False
    short: bool = False
    """The page or weight budget ran out before every range was covered."""
    pages: int = 0


def repair(client: BinanceClient, symbol: str, ranges: list[Range], *, limit: int,
           max_pages: int) -> Repair:
    """Fetch ``ranges`` (closed holes, or one open catch-up range) within ``max_pages``."""
    result = Repair(symbol)
    for low, high in ranges:
        fetched = fetch_range(client, symbol, low, high, limit=limit,
                              max_pages=max_pages - result.pages)
        result.pages += fetched.pages
        result.rows += fetched.rows
        result.absent += fetched.absent
        if high is None:
            result.caught_up = fetched.exhausted
            result.short = result.short or not fetched.exhausted
        elif fetched.next_id <= high:
            if fetched.exhausted:
                result.not_yet.append((fetched.next_id, high))
            else:
                result.short = True
    return result
