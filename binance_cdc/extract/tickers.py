"""daily_ticker and latest_prices: multi-symbol ticker calls, rows written only when changed.

Every answer is parsed against the symbols its call asked for, all before the one
transaction, so a rejected row (an unasked symbol, a negative price) writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from binance_cdc.binance.parse import price_rows, ticker_24hr_rows
from binance_cdc.datasets import DAILY_TICKER, LATEST_PRICES
from binance_cdc.extract.base import Context, Outcome, batches, fetch_multi_symbol
from binance_cdc.postgres.store import copy_upsert


def extract_daily_ticker(ctx: Context) -> Outcome:
    """/ticker/24hr in batches of EXTRACT_TICKER_BATCH_SIZE (20 symbols cost 2, 21 cost 40)."""
    outcome = Outcome()

    def fetch(symbols: Sequence[str]) -> list[tuple[Sequence[str], Any]]:
        return [(batch, ctx.client.ticker_24hr(batch))
                for batch in batches(symbols, ctx.settings.ticker_batch_size)]

    symbols, payloads = fetch_multi_symbol(ctx, outcome, fetch)
    rows = [r for batch, payload in payloads or []
            for r in ticker_24hr_rows(payload, asked=batch)]
    outcome.loaded = symbols
    if rows:
        with ctx.store.transaction() as cur:
            outcome.counts = copy_upsert(cur, ctx.store.table(DAILY_TICKER.name), DAILY_TICKER,
                                         rows)
    return outcome


def extract_latest_prices(ctx: Context) -> Outcome:
    """/ticker/price for all symbols in one call (weight 4); a row changes only with its price."""
    outcome = Outcome()
    symbols, payload = fetch_multi_symbol(ctx, outcome, ctx.client.ticker_price)
    rows = price_rows(payload, ctx.now, asked=symbols) if payload is not None else []
    outcome.loaded = symbols
    if rows:
        with ctx.store.transaction() as cur:
            outcome.counts = copy_upsert(
                cur, ctx.store.table(LATEST_PRICES.name), LATEST_PRICES, rows,
                update_columns=("price", "updated_at"), compare_columns=("price",))
    return outcome
