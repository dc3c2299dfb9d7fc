"""Query tables: rows derived from a replica row, keyed for a user's question.

Each is filled from the same change events as its replica table and with the
same write timestamp, so it converges exactly like the replica does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueryTable:
    name: str
    source: str
    """The dataset whose changes feed it."""
    columns: tuple[str, ...]
    key: tuple[str, ...]
    derive: Callable[[dict[str, Any]], dict[str, Any]]
    """Replica row (or a full before-image) -> query-table row (Python: verify, dead letters)."""
    derived_sql: Mapping[str, str] = field(default_factory=dict)
    """The same derivation as Spark SQL, for the columns that are not copied as they are:
    ``{source_column}`` placeholders name the replica row's columns. The stream evaluates
    these on the executors; tests/unit/stream/test_decode.py proves both forms agree."""

    def key_of(self, row: dict[str, Any]) -> tuple:
        return tuple(row[k] for k in self.key)

    def spark_expression(self, column: str, name_of: Callable[[str], str]) -> str:
        """Spark SQL for ``column`` over a frame whose replica columns are named ``name_of(c)``."""
        template = self.derived_sql.get(column, f"{{{column}}}")
        return _fill(template, name_of)


def _fill(template: str, name_of: Callable[[str], str]) -> str:
    import string

    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    return template.format(**{name: f"`{name_of(name)}`" for name in names})


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
    # The stream's Spark session runs in UTC (spark.sql.session.timeZone), like trade_date.
    derived_sql={"trade_date": "to_date({trade_time})"},
)

QUERY_TABLES: tuple[QueryTable, ...] = (TRADES_BY_DAY,)


def query_tables_for(dataset_name: str) -> tuple[QueryTable, ...]:
    return tuple(q for q in QUERY_TABLES if q.source == dataset_name)
