"""order_book: each poll applies exactly the diff between two books, in one transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from binance_cdc.binance.parse import depth_snapshot
from binance_cdc.binance.simulator import responses
from binance_cdc.extract.orderbook import diff_book

pytestmark = pytest.mark.postgres
DEPTH = 20


def sim_book(sim, symbol):
    """The book the extractor will see at the simulator's current time."""
    return depth_snapshot(symbol, responses.depth(sim.market.get(symbol), DEPTH))


def stored(db, symbol):
    return {(side, price): (qty, uid) for side, price, qty, uid in db.rows(
        "SELECT side, price, quantity, last_update_id FROM binance.order_book WHERE symbol = %s",
        symbol)}


def test_poll_applies_exactly_the_expected_inserts_updates_and_deletes(
        make_extractor, sim, sim_clock, db, sym):
    symbol = sym("BTCUSDT")
    extractor = make_extractor(["BTCUSDT"], datasets=["order_book"], depth_limit=DEPTH)
    first = sim_book(sim, symbol)
    (result,) = extractor.run_cycle()
    assert result.counts.inserted == len(first.levels) == 2 * DEPTH
    before = stored(db, symbol)
    assert {k: q for k, (q, _) in before.items()} == first.levels

    for _ in range(50):  # a few trades at a time until levels were added, changed and removed
        sim_clock.advance(0.1)
        second = sim_book(sim, symbol)
        expected = diff_book(first.levels, second.levels)
        if expected.inserts and expected.updates and expected.deletes:
            break
    assert expected.inserts and expected.updates and expected.deletes
    assert len(expected.inserts) + len(expected.updates) < len(first.levels)  # most stay
    (result,) = extractor.run_cycle()
    assert (result.counts.inserted, result.counts.updated, result.counts.deleted) == (
        len(expected.inserts), len(expected.updates), len(expected.deletes))

    after = stored(db, symbol)
    assert {k: q for k, (q, _) in after.items()} == second.levels
    for level, (qty, update_id) in after.items():
        if level in expected.inserts or level in expected.updates:
            assert update_id == second.last_update_id
        else:  # unchanged levels are not rewritten
            assert (qty, update_id) == before[level]
            assert update_id == first.last_update_id


def test_unchanged_levels_are_not_rewritten(make_extractor, sim, sim_clock, db, sym):
    symbol = sym("ETHUSDT")
    extractor = make_extractor(["ETHUSDT"], datasets=["order_book"], depth_limit=DEPTH)
    extractor.run_cycle()
    xmins = dict(db.rows("SELECT price, xmin::text FROM binance.order_book WHERE symbol = %s",
                         symbol))
    (result,) = extractor.run_cycle()
    assert (result.counts.inserted, result.counts.updated, result.counts.deleted) == (0, 0, 0)
    assert dict(db.rows("SELECT price, xmin::text FROM binance.order_book WHERE symbol = %s",
                        symbol)) == xmins


def test_order_book_with_eight_decimal_prices(make_extractor, sim, db, sym):
    symbol = sym("PEPEUSDT")
    make_extractor(["PEPEUSDT"], datasets=["order_book"], depth_limit=5).run_cycle()
    prices = [p for (p,) in db.rows("SELECT price::text FROM binance.order_book "
                                    "WHERE symbol = %s AND side = 'ask' ORDER BY price", symbol)]
    served = responses.depth(sim.market.get(symbol), 5)["asks"]
    assert prices == [p for p, _ in served]
    assert all(Decimal(p) < 1 for p in prices)
