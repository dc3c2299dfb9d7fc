"""Query tables: rows derived from a replica row, keyed for a user's question.

Each is filled from the same change events as its replica table and with the
same write timestamp, so it converges exactly like the replica does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueryTable:
    name: str
    source: str
    """The dataset whose changes feed it."""
    columns: tuple[str, ...]
    key: tuple[str, ...]
    derive: Callable[[dict[str, Any]], dict[str, Any]]
    """Replica row (or a full before-image) -> query-table row."""

    def key_of(self, row: dict[str, Any]) -> tuple:
        return tuple(row[k] for k in self.key)


def _trade_by_day(trade: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": trade["symbol"], "trade_date": trade["trade_time"].date(),
        "trade_time": trade["trade_time"], "trade_id": trade["trade_id"],
        "price": trade["price"], "qty": trade["qty"], "quote_qty": trade["quote_qty"],
        "is_buyer_maker": trade["is_buyer_maker"],
    }


TRADES_BY_DAY = QueryTable(
    name="trades_by_day",
    source="recent_trades",
    columns=("symbol", "trade_date", "trade_time", "trade_id", "price", "qty", "quote_qty",
             "is_buyer_maker"),
    key=("symbol", "trade_date", "trade_time", "trade_id"),
    derive=_trade_by_day,
)

QUERY_TABLES: tuple[QueryTable, ...] = (TRADES_BY_DAY,)


def query_tables_for(dataset_name: str) -> tuple[QueryTable, ...]:
    return tuple(q for q in QUERY_TABLES if q.source == dataset_name)
