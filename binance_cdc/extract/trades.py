"""recent_trades: insert-only, with trade-id gaps backfilled from /historicalTrades.

/trades only returns the newest N trades. When a symbol traded more than N
times between two polls, the ids between the highest stored id and the first
id of the new answer are missing; they are fetched page by page with
``fromId`` as long as the page limit (EXTRACT_BACKFILL_MAX_PAGES) and the weight
budget allow. What is left is recorded as ``open_gaps`` in the run log and
retried by the next poll, so every trade id since the first poll ends up stored.
Ids the exchange skips over (``unavailable``) are logged once and not retried.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from binance_cdc.binance.client import BinanceClient
from binance_cdc.binance.parse import trade_rows
from binance_cdc.binance.weights import request_weight
from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.extract.base import Context, Outcome, fetch_per_symbol
from binance_cdc.postgres.store import copy_upsert

log = logging.getLogger(__name__)

HISTORICAL = "/api/v3/historicalTrades"
_ID = RECENT_TRADES.column_names.index("trade_id")
Gap = tuple[int, int]  # inclusive trade-id range


def new_gap(last_stored: int | None, first_recent: int | None) -> Gap | None:
    """The ids missing between the stored trades and a fresh /trades answer, if any."""
    if last_stored is None or first_recent is None or first_recent <= last_stored + 1:
        return None
    return (last_stored + 1, first_recent - 1)


def remaining_gaps(gaps: list[Gap], fetched_ids: set[int]) -> list[Gap]:
    """Sub-ranges of ``gaps`` whose ids were not fetched (pure; for the run log)."""
    ids = sorted(fetched_ids)
    left: list[Gap] = []
    for low, high in gaps:
        cursor = low
        for tid in ids[bisect.bisect_left(ids, low):bisect.bisect_right(ids, high)]:
            if tid > cursor:
                left.append((cursor, tid - 1))
            cursor = tid + 1
        if cursor <= high:
            left.append((cursor, high))
    return left


def extract(ctx: Context) -> Outcome:
    outcome = Outcome()
    table = ctx.store.table(RECENT_TRADES.name)
    symbols = ctx.symbols()
    if not symbols:
        return outcome
    last_ids = dict(ctx.store.query(
        sql.SQL("SELECT symbol, max(trade_id) FROM {} WHERE symbol = ANY(%s) GROUP BY symbol")
        .format(table), (symbols,)))
    carried = _open_gaps(ctx, symbols)
    gaps_found: dict[str, list[Gap]] = {}
    open_gaps: dict[str, list[Gap]] = {}
    unavailable: dict[str, list[Gap]] = {}
    backfilled: dict[str, int] = {}

    def fetch(symbol: str) -> list[tuple[object, ...]]:
        rows = trade_rows(symbol, ctx.client.trades(symbol, ctx.settings.trades_limit))
        gaps = list(carried.get(symbol, []))
        first_recent = int(rows[0][_ID]) if rows else None  # type: ignore[call-overload]
        gap = new_gap(last_ids.get(symbol), first_recent)
        if gap:
            gaps_found[symbol] = [gap]
            gaps.append(gap)
        if gaps:
            extra, left, lost = _backfill(ctx, symbol, gaps)
            backfilled[symbol] = len(extra)
            if left:
                open_gaps[symbol] = left
                log.warning("recent_trades %s: trade ids %s not backfilled yet (page or weight "
                            "budget spent); the next poll retries", symbol, format_ranges(left))
            if lost:
                unavailable[symbol] = lost
                log.warning("recent_trades %s: the exchange returned no trades with ids %s",
                            symbol, format_ranges(lost))
            rows = extra + rows
        return rows

    fetched = fetch_per_symbol(ctx, outcome, fetch)
    rows = [r for symbol_rows in fetched.values() for r in symbol_rows]
    if rows:
        with ctx.store.transaction() as cur:
            outcome.counts = copy_upsert(cur, table, RECENT_TRADES, rows, on_conflict="nothing")
    outcome.details = {key: value for key, value in (
        ("gaps_found", gaps_found), ("backfilled", backfilled), ("open_gaps", open_gaps),
        ("unavailable", unavailable)) if value}
    outcome.partial = bool(open_gaps or unavailable)
    return outcome


def format_ranges(gaps: list[Gap]) -> str:
    """``[(1, 3), (7, 7)]`` -> ``1..3, 7..7`` (log lines)."""
    return ", ".join(f"{a}..{b}" for a, b in gaps)


@dataclass
class RangeFetch:
    """What /historicalTrades returned for one id range, page by page."""

    rows: list[tuple[object, ...]] = field(default_factory=list)
    absent: list[Gap] = field(default_factory=list)
    """Ids a page skipped over: the exchange returned a later id instead (no such trade)."""
    next_id: int = 0
    """The first id not covered yet (past the range's end when done)."""
    exhausted: bool = False
    """The exchange has no trade from ``next_id`` on (yet): an empty or short page."""
    pages: int = 0


def fetch_range(client: BinanceClient, symbol: str, low: int, high: int | None, *, limit: int,
                max_pages: int) -> RangeFetch:
    """Trades ``low..high`` (``high`` None: up to the newest) from /historicalTrades?fromId=.

    Stops early when ``max_pages`` are spent or the weight budget has no room for
    another page, leaving ``next_id`` for a later call.
    """
    limit = max(1, min(limit, 1000))
    cost = request_weight(HISTORICAL)
    result = RangeFetch(next_id=low)
    while (high is None or result.next_id <= high) and result.pages < max_pages:
        if client.budget.headroom() < cost:
            break
        from_id = result.next_id
        page: Any = client.historical_trades(symbol, from_id, limit)
        result.pages += 1
        rows = trade_rows(symbol, page, endpoint=HISTORICAL)
        if not rows:
            result.exhausted = True
            break
        last = int(rows[-1][_ID])  # type: ignore[call-overload]
        end = last if high is None else min(last, high)
        inside = [r for r in rows if from_id <= r[_ID] <= end]  # type: ignore[operator]
        result.absent += remaining_gaps([(from_id, end)],
                                        {int(r[_ID]) for r in inside})  # type: ignore[call-overload]
        result.rows += inside
        result.next_id = max(last + 1, from_id + 1)
        if len(rows) < limit and (high is None or result.next_id <= high):
            result.exhausted = True
            break
    return result


def _backfill(ctx: Context, symbol: str,
              gaps: list[Gap]) -> tuple[list[tuple[object, ...]], list[Gap], list[Gap]]:
    """Trades inside ``gaps`` from /historicalTrades, within the page and weight budget.

    Returns the rows, the gaps left for the next poll (budget spent) and the ids
    the exchange does not have (skipped over, or past its newest trade; never retried).
    """
    pages_left = ctx.settings.backfill_max_pages
    out: list[tuple[object, ...]] = []
    left: list[Gap] = []
    lost: list[Gap] = []
    for low, high in gaps:
        fetched = fetch_range(ctx.client, symbol, low, high,
                              limit=ctx.settings.historical_trades_limit, max_pages=pages_left)
        pages_left -= fetched.pages
        out += fetched.rows
        lost += fetched.absent
        if fetched.next_id <= high:
            (lost if fetched.exhausted else left).append((fetched.next_id, high))
    return out, left, lost


def _open_gaps(ctx: Context, symbols: list[str]) -> dict[str, list[Gap]]:
    """Gaps the latest successful run of each symbol could not fill (from the run log)."""
    found = ctx.store.query(sql.SQL(
        "SELECT DISTINCT ON (s) s, r.details -> 'open_gaps' -> s "
        "FROM {} r, unnest(r.symbols) s "
        "WHERE r.dataset = 'recent_trades' AND r.status <> 'failed' AND s = ANY(%s) "
        "AND r.started_at > now() - interval '7 days' ORDER BY s, r.run_id DESC"
    ).format(ctx.store.table("extraction_runs")), (symbols,))
    return {s: [(int(a), int(b)) for a, b in gaps] for s, gaps in found if gaps}
