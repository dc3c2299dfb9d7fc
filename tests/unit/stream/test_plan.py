"""Changes -> Cassandra writes: newest per row wins, query rows follow moves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from binance_cdc.datasets import LATEST_PRICES, RECENT_TRADES
from binance_cdc.sink.plan import plan_writes
from binance_cdc.stream.envelope import Change

T0 = dt.datetime(2024, 5, 1, 23, 59, tzinfo=dt.timezone.utc)


def price(symbol: str, value: str, lsn: int, op: str = "upsert") -> Change:
    row = {"symbol": symbol, "price": Decimal(value), "updated_at": T0}
    return Change(LATEST_PRICES, op, "u" if op == "upsert" else "d", {"symbol": symbol},
                  row if op == "upsert" else None, None, lsn, 1000)


def trade(trade_id: int, when: dt.datetime, lsn: int, *, op: str = "upsert",
          before_time: dt.datetime | None = None) -> Change:
    row = {"symbol": "BTCUSDT", "trade_id": trade_id, "price": Decimal("1.5"),
           "qty": Decimal("2"), "quote_qty": Decimal("3"), "trade_time": when,
           "is_buyer_maker": True, "is_best_match": True}
    before = None if before_time is None else {**row, "trade_time": before_time}
    return Change(RECENT_TRADES, op, "u", {"symbol": "BTCUSDT", "trade_id": trade_id},
                  row if op == "upsert" else None, before, lsn, 1000)


def test_only_the_newest_change_of_a_row_is_written_whatever_the_arrival_order() -> None:
    writes = plan_writes([price("A", "2", 20), price("A", "1", 10), price("B", "5", 5)])
    replica = sorted((w.values["symbol"], w.values["price"], w.timestamp) for w in writes)
    assert replica == [("A", Decimal("2"), 20), ("B", Decimal("5"), 5)]


def test_a_delete_newer_than_the_upsert_wins() -> None:
    (write,) = plan_writes([price("A", "1", 10), price("A", "1", 11, op="delete")])
    assert (write.kind, write.values, write.timestamp) == ("delete", {"symbol": "A"}, 11)


def test_a_trade_also_lands_in_trades_by_day_with_the_same_timestamp() -> None:
    writes = plan_writes([trade(1, T0, 30)])
    by_table = {w.table: w for w in writes}
    assert set(by_table) == {"recent_trades", "trades_by_day"}
    assert by_table["trades_by_day"].values["trade_date"] == dt.date(2024, 5, 1)
    assert by_table["trades_by_day"].timestamp == 30


def test_a_trade_whose_time_moved_is_removed_from_its_old_day() -> None:
    later = T0 + dt.timedelta(minutes=2)
    writes = plan_writes([trade(1, later, 40, before_time=T0)])
    deletes = [w for w in writes if w.table == "trades_by_day" and w.kind == "delete"]
    assert [(d.values["trade_date"], d.values["trade_time"], d.timestamp) for d in deletes] == \
           [(dt.date(2024, 5, 1), T0, 40)]


def test_a_deleted_trade_is_deleted_from_trades_by_day_via_its_full_before_image() -> None:
    deleted = trade(1, T0, 50, op="delete", before_time=T0)
    writes = plan_writes([deleted])
    assert {(w.table, w.kind) for w in writes} == {("recent_trades", "delete"),
                                                   ("trades_by_day", "delete")}
