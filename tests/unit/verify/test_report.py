"""How verify's results read: the table, the JSON and the progress figures."""

from __future__ import annotations

import json

import pytest

from binance_cdc.cli.verify_cmd import ProgressBar, render
from binance_cdc.verify.progress import LogProgress, Progress
from binance_cdc.verify.result import RowDifference, TableDiff, VerifyResult


def test_held_rows_do_not_fail_a_table_but_are_shown() -> None:
    held = RowDifference("held", {"symbol": "X", "trade_id": "2"}, {"price": ("NaN", None)},
                         "held in dead letters (t partition 0 offset 1): not finite")
    diff = TableDiff("recent_trades", 3, 2, 0, 0, 0, held=1, samples=(held,), seconds=1.0)
    result = VerifyResult((diff,))
    assert diff.matches and result.matches and not result.failed
    text = render(result)
    assert "ok (1 held in dead letters)" in text
    assert "held      (symbol=X, trade_id=2) price=NaN  [held in dead letters" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["tables"][0]["held"] == 1 and data["tables"][0]["rows_per_s"] == 3


def test_a_held_row_cassandra_has_an_older_version_of_shows_what_differs() -> None:
    held = RowDifference("held", {"symbol": "X"}, {"price": ("NaN", "1.5")}, "held in dead letters")
    text = render(VerifyResult((TableDiff("latest_prices", 1, 1, 0, 0, 0, held=1, samples=(held,)),)))
    assert "held      (symbol=X) price: NaN != 1.5  [held in dead letters]" in text


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


def test_progress_bar_shows_rows_rate_and_time_left(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ProgressBar()
    bar(Progress("recent_trades", "postgres vs cassandra", 500_000, 1_000_000, 5.0))
    bar.clear()
    err = capsys.readouterr().err
    assert "recent_trades (postgres vs cassandra) [############............] 500,000 rows" in err
    assert "100,000 rows/s  ETA 5s" in err
    assert err.endswith("\r\x1b[K")


def test_progress_logs_a_line_every_few_seconds_and_at_the_end(
        caplog: pytest.LogCaptureFixture) -> None:
    log_progress = LogProgress(every_s=3600)
    with caplog.at_level("INFO", logger="binance_cdc.verify.progress"):
        for rows in (10, 20, 30):
            log_progress(Progress("klines", "postgres vs cassandra", rows, 30, 1.0))
        log_progress(Progress("klines", "postgres vs cassandra", 30, 30, 1.0, done=True))
    assert [r.getMessage() for r in caplog.records] == [
        "klines (postgres vs cassandra): 10 rows, 10 rows/s, about 2s left",
        "klines (postgres vs cassandra): done, 30 rows, 30 rows/s"]
