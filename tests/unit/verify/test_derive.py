"""Query-table rows come from the table's own derive, decoding only what it computes with."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.errors import ConfigError
from binance_cdc.sink.query_tables import TRADES_BY_DAY, QueryTable
from binance_cdc.verify.canonical import canonical_value
from binance_cdc.verify.derive import plan
from binance_cdc.verify.spec import TableSpec

SOURCE = TableSpec.of_dataset(RECENT_TRADES)
BY_DAY = TableSpec("trades_by_day", TRADES_BY_DAY.columns,
                   ("text", "date", "timestamp", "bigint", "decimal", "decimal", "decimal", "boolean"),
                   TRADES_BY_DAY.key, ("symbol", "trade_date"))
TRADE = {"symbol": "BTCUSDT", "trade_id": 7, "price": Decimal("65000.10000000"),
         "qty": Decimal("0.5"), "quote_qty": Decimal("32500.05"),
         "trade_time": dt.datetime(2024, 5, 1, 23, 59, 59, 999000, tzinfo=dt.timezone.utc),
         "is_buyer_maker": True, "is_best_match": False}


def canonical(row: dict[str, Any], columns: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(canonical_value(row[c]) for c in columns)


def test_trades_by_day_decodes_only_trade_time() -> None:
    derive_plan = plan(TRADES_BY_DAY, SOURCE, BY_DAY)
    assert [SOURCE.columns[p] for p, _ in derive_plan.decoded] == ["trade_time"]


def test_derived_parts_equal_the_canonical_form_of_derive_on_full_rows() -> None:
    derive_plan = plan(TRADES_BY_DAY, SOURCE, BY_DAY)
    parts = canonical(TRADE, SOURCE.columns)
    assert derive_plan.derive(parts) == canonical(TRADES_BY_DAY.derive(TRADE), BY_DAY.columns)
    assert derive_plan.derive(parts)[1] == b"2024-05-01"


def test_a_derive_that_computes_with_more_columns_gets_them_decoded() -> None:
    def doubled(trade: dict[str, Any]) -> dict[str, Any]:
        return {"symbol": trade["symbol"], "trade_id": trade["trade_id"],
                "price": trade["price"] * 2 if trade["is_buyer_maker"] else trade["price"]}
    query = QueryTable("doubled", "recent_trades", ("symbol", "trade_id", "price"),
                       ("symbol", "trade_id"), doubled)
    target = TableSpec("doubled", query.columns, ("text", "bigint", "decimal"), query.key, ("symbol",))
    derive_plan = plan(query, SOURCE, target)
    assert {SOURCE.columns[p] for p, _ in derive_plan.decoded} == {"price", "is_buyer_maker"}
    assert derive_plan.derive(canonical(TRADE, SOURCE.columns)) == (b"BTCUSDT", b"7", b"130000.2")


def test_a_derive_that_fails_on_any_row_is_a_config_error() -> None:
    def broken(trade: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("no")
    query = QueryTable("broken", "recent_trades", ("symbol",), ("symbol",), broken)
    target = TableSpec("broken", ("symbol",), ("text",), ("symbol",), ("symbol",))
    with pytest.raises(ConfigError, match="broken fails on a sample recent_trades row: RuntimeError"):
        plan(query, SOURCE, target)


def test_a_derive_that_lacks_a_column_is_a_config_error() -> None:
    query = QueryTable("short", "recent_trades", ("symbol", "nope"), ("symbol",),
                       lambda t: {"symbol": t["symbol"]})
    target = TableSpec("short", ("symbol", "nope"), ("text", "text"), ("symbol",), ("symbol",))
    with pytest.raises(ConfigError, match="yields no nope"):
        plan(query, SOURCE, target)


def test_trades_by_day_copies_every_column_but_trade_date() -> None:
    derive_plan = plan(TRADES_BY_DAY, SOURCE, BY_DAY)
    copied = {target: None if source is None else SOURCE.columns[source]
              for target, source in zip(BY_DAY.columns, derive_plan.copied)}
    assert copied == {"symbol": "symbol", "trade_date": None, "trade_time": "trade_time",
                      "trade_id": "trade_id", "price": "price", "qty": "qty",
                      "quote_qty": "quote_qty", "is_buyer_maker": "is_buyer_maker"}


def test_a_computed_boolean_is_never_mistaken_for_a_copy() -> None:
    query = QueryTable("flags", "recent_trades", ("symbol", "taker_sold"), ("symbol",),
                       lambda t: {"symbol": t["symbol"], "taker_sold": not t["is_buyer_maker"]})
    target = TableSpec("flags", query.columns, ("text", "boolean"), query.key, ("symbol",))
    derive_plan = plan(query, SOURCE, target)
    assert derive_plan.copied == (0, None)
    assert derive_plan.derive(canonical(TRADE, SOURCE.columns)) == (b"BTCUSDT", b"false")


def test_a_source_row_python_cannot_decode_expects_no_query_row() -> None:
    derive_plan = plan(TRADES_BY_DAY, SOURCE, BY_DAY)
    good = canonical(TRADE, SOURCE.columns)
    beyond = tuple(b"999999999999999999" if c == "trade_time" else v
                   for c, v in zip(SOURCE.columns, good))
    assert derive_plan.derive_all([beyond, good]) == [derive_plan.derive(good)]
