"""The order-book diff: a pure function, table-driven."""

from __future__ import annotations

from decimal import Decimal

import pytest

from binance_cdc.extract.orderbook import diff_book


def book(*levels: tuple[str, str, str]) -> dict[tuple[str, Decimal], Decimal]:
    return {(side, Decimal(price)): Decimal(qty) for side, price, qty in levels}


CASES = [
    pytest.param(book(), book(("bid", "10", "1"), ("ask", "11", "2")),
                 book(("bid", "10", "1"), ("ask", "11", "2")), {}, [], id="empty-to-book"),
    pytest.param(book(("bid", "10", "1")), book(("bid", "10", "1")), {}, {}, [],
                 id="unchanged-touches-nothing"),
    pytest.param(book(("bid", "10", "1")), book(("bid", "10", "1.5")), {},
                 book(("bid", "10", "1.5")), [], id="quantity-changed"),
    pytest.param(book(("bid", "10", "1"), ("ask", "11", "2")), book(("ask", "11", "2")), {}, {},
                 [("bid", Decimal("10"))], id="level-vanished"),
    pytest.param(book(("bid", "10", "1.0")), book(("bid", "10.00", "1.00000000")), {}, {}, [],
                 id="same-value-other-scale-is-unchanged"),
    pytest.param(book(("bid", "10", "1")), book(("ask", "10", "1")), book(("ask", "10", "1")), {},
                 [("bid", Decimal("10"))], id="same-price-other-side"),
    pytest.param(book(("bid", "9", "1"), ("bid", "10", "1"), ("ask", "11", "1")),
                 book(("bid", "10", "3"), ("ask", "11", "1"), ("ask", "12", "4")),
                 book(("ask", "12", "4")), book(("bid", "10", "3")), [("bid", Decimal("9"))],
                 id="mixed"),
    pytest.param(book(("bid", "0.00000812", "123456789012")), book(), {}, {},
                 [("bid", Decimal("0.00000812"))], id="book-emptied"),
]


@pytest.mark.parametrize("current, new, inserts, updates, deletes", CASES)
def test_diff_book(current, new, inserts, updates, deletes):
    diff = diff_book(current, new)
    assert diff.inserts == inserts
    assert diff.updates == updates
    assert diff.deletes == deletes
    assert diff.empty == (not inserts and not updates and not deletes)
