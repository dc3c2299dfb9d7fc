"""order_book: bring the stored top-N levels to the new /depth snapshot in one transaction.

:func:`diff_book` is pure: new levels are inserted, levels whose quantity changed
are updated, vanished levels deleted, and unchanged levels are left alone (not
even their ``last_update_id``), so CDC only ships real changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from psycopg import sql

from binance_cdc.binance.parse import DepthSnapshot, depth_snapshot, row
from binance_cdc.datasets import ORDER_BOOK
from binance_cdc.extract.base import Context, Outcome, fetch_per_symbol
from binance_cdc.postgres.store import copy_upsert, delete_keys, update_rows

Level = tuple[str, Decimal]  # (side, price)


@dataclass(frozen=True)
class BookDiff:
    """The changes that turn one book into another."""

    inserts: dict[Level, Decimal] = field(default_factory=dict)
    updates: dict[Level, Decimal] = field(default_factory=dict)
    deletes: list[Level] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.inserts or self.updates or self.deletes)


def diff_book(current: Mapping[Level, Decimal], new: Mapping[Level, Decimal]) -> BookDiff:
    """Inserts, quantity updates and deletes from ``current`` to ``new`` (numerically compared)."""
    inserts = {lvl: qty for lvl, qty in new.items() if lvl not in current}
    updates = {lvl: qty for lvl, qty in new.items() if lvl in current and current[lvl] != qty}
    deletes = sorted(lvl for lvl in current if lvl not in new)
    return BookDiff(inserts, updates, deletes)


def extract(ctx: Context) -> Outcome:
    outcome = Outcome()
    limit = ctx.settings.depth_limit
    snapshots: dict[str, DepthSnapshot] = {
        symbol: depth_snapshot(symbol, payload)
        for symbol, payload in fetch_per_symbol(
            ctx, outcome, lambda s: ctx.client.depth(s, limit)).items()}
    if not snapshots:
        return outcome
    table = ctx.store.table(ORDER_BOOK.name)
    with ctx.store.transaction() as cur:
        cur.execute(sql.SQL("SELECT symbol, side, price, quantity FROM {} "
                            "WHERE symbol = ANY(%s) FOR UPDATE").format(table),
                    (list(snapshots),))
        stored: dict[str, dict[Level, Decimal]] = {s: {} for s in snapshots}
        for symbol, side, price, quantity in cur.fetchall():
            stored[symbol][(side, price)] = quantity
        inserts, updates, deletes = [], [], []
        for symbol, snap in snapshots.items():
            diff = diff_book(stored[symbol], snap.levels)
            for (side, price), qty in diff.inserts.items():
                inserts.append(row(ORDER_BOOK, {
                    "symbol": symbol, "side": side, "price": price, "quantity": qty,
                    "last_update_id": snap.last_update_id, "updated_at": ctx.now}))
            updates += [(qty, snap.last_update_id, ctx.now, symbol, side, price)
                        for (side, price), qty in diff.updates.items()]
            deletes += [(symbol, side, price) for side, price in diff.deletes]
        key = ("symbol", "side", "price")
        outcome.counts = (
            delete_keys(cur, table, key, deletes)
            + update_rows(cur, table, key, ("quantity", "last_update_id", "updated_at"), updates)
            + copy_upsert(cur, table, ORDER_BOOK, inserts, on_conflict="nothing"))
    outcome.details["book_ids"] = {s: snap.last_update_id for s, snap in snapshots.items()}
    return outcome
