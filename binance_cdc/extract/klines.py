"""klines: incremental from the last stored open time; the open candle is upserted until it closes.

A candle is closed when its close time is before the exchange's time. The
upsert never touches a stored closed candle (``only_if t.is_closed = false``)
and skips no-op updates of the open one.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from binance_cdc.binance.parse import kline_rows
from binance_cdc.datasets import KLINES
from binance_cdc.extract.base import Context, Outcome, fetch_per_symbol
from binance_cdc.postgres.store import copy_upsert

PAGE = 1000  # the endpoint's maximum limit
_OPEN_TIME = KLINES.column_names.index("open_time")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def extract(ctx: Context) -> Outcome:
    outcome = Outcome()
    intervals = ctx.settings.kline_intervals
    symbols = ctx.symbols()
    if not symbols:
        return outcome
    last_open: dict[tuple[str, str], datetime] = {
        (s, i): t for s, i, t in ctx.store.query(
            sql.SQL("SELECT symbol, interval, max(open_time) FROM {} WHERE symbol = ANY(%s) "
                    "AND interval = ANY(%s) GROUP BY symbol, interval").format(
                ctx.store.table(KLINES.name)),
            (symbols, intervals))}
    server_ms = ctx.client.server_time_ms()

    def fetch(symbol: str) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        for interval in intervals:
            rows += _fetch_interval(ctx, symbol, interval, last_open.get((symbol, interval)),
                                    server_ms)
        return rows

    fetched = fetch_per_symbol(ctx, outcome, fetch)
    rows = [r for symbol_rows in fetched.values() for r in symbol_rows]
    if rows:
        with ctx.store.transaction() as cur:
            outcome.counts = copy_upsert(cur, ctx.store.table(KLINES.name), KLINES, rows,
                                         only_if="t.is_closed = false")
    return outcome


def interval_ms(interval: str) -> int | None:
    """Length of a kline interval in ms; None for the calendar month (1M)."""
    unit = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
    if interval[-1:] in unit and interval[:-1].isdigit():
        return int(interval[:-1]) * unit[interval[-1]]
    return None


def _fetch_interval(ctx: Context, symbol: str, interval: str, last: datetime | None,
                    server_ms: int) -> list[tuple[object, ...]]:
    backfill = max(1, ctx.settings.klines_backfill)
    pages = max(1, ctx.settings.backfill_max_pages)
    length = interval_ms(interval)
    if last is None and (backfill <= PAGE or length is None):
        # First run: the newest candles in one call (a month interval cannot be counted back).
        payload = ctx.client.klines(symbol, interval, limit=min(backfill, PAGE))
        return kline_rows(symbol, interval, payload, server_ms)
    if last is None:  # first run with a longer backfill: count back, then page forward
        assert length is not None
        start = (server_ms // length - backfill + 1) * length
        pages = -(-backfill // PAGE)
    else:  # from the last stored candle on (it may have been open)
        start = _ms(last)
    rows: list[tuple[object, ...]] = []
    for _ in range(pages):
        payload = ctx.client.klines(symbol, interval, start_time_ms=start, limit=PAGE)
        page = kline_rows(symbol, interval, payload, server_ms)
        rows += page
        if len(page) < PAGE:
            break
        start = _ms(page[-1][_OPEN_TIME]) + 1  # type: ignore[arg-type]
    return rows
