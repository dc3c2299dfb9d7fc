"""How verify's results read: the table, the JSON and the progress figures."""

from __future__ import annotations

import json

from binance_cdc.cli.verify_cmd import render
from binance_cdc.verify.progress import Progress
from binance_cdc.verify.result import RowDifference, TableDiff, VerifyResult


def test_held_rows_do_not_fail_a_table_but_are_shown() -> None:
    held = RowDifference("held", {"symbol": "X", "trade_id": "2"}, {"price": ("NaN", None)},
                         "held in dead letters (t partition 0 offset 1): not finite")
    diff = TableDiff("recent_trades", 3, 2, 0, 0, 0, held=1, samples=(held,), seconds=1.0)
    result = VerifyResult((diff,))
    assert diff.matches and result.matches and not result.failed
    text = render(result)
    assert "ok (1 held in dead letters)" in text
    assert "held      (symbol=X, trade_id=2) price: NaN != None  [held in dead letters" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["tables"][0]["held"] == 1 and data["tables"][0]["rows_per_s"] == 3


def test_a_table_that_could_not_be_verified() -> None:
    result = VerifyResult((TableDiff("klines", 0, 0, 0, 0, 0, error="Cassandra has no table"),))
    assert result.failed and not result.matches
    assert "COULD NOT VERIFY: Cassandra has no table" in render(result)


def test_differences_are_listed_with_their_columns() -> None:
    sample = RowDifference("different", {"symbol": "X"}, {"price": ("1.6", "1.5")})
    diff = TableDiff("latest_prices", 1, 1, 0, 0, 1, samples=(sample,))
    text = render(VerifyResult((diff,), symbols=("X",)))
    assert "DIFFERS" in text and "different (symbol=X) price: 1.6 != 1.5" in text
    assert "MISMATCH (symbols X)" in text


def test_progress_rate_and_eta() -> None:
    p = Progress("recent_trades", "postgres vs cassandra", 250_000, 1_000_000, 2.5)
    assert p.rate == 100_000 and p.eta_s == 7.5
    assert Progress("t", "s", 10, None, 1.0).eta_s is None
    assert Progress("t", "s", 0, 10, 0.0).rate == 0
