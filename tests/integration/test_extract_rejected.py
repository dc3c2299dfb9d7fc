"""A well-formed answer with one bad row (a negative price, a symbol nobody asked for) writes
nothing to Postgres: not the bad row, not the good rows of the same load."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.datasets import DATASETS

pytestmark = pytest.mark.postgres


@pytest.fixture
def cleanup(db, sym) -> Iterator[list[str]]:
    """The test's symbols; their rows and run-log entries are deleted afterwards."""
    names = [sym("BTCUSDT"), sym("ETHUSDT")]
    yield names
    foreign = [f"NOTASKED{name}" for name in names]
    for table in DATASETS:
        db.rows(f"DELETE FROM binance.{table} WHERE symbol = ANY(%s) RETURNING 1",
                names + foreign)
    db.rows("DELETE FROM binance.extraction_runs WHERE symbols && %s RETURNING 1", names)


def snapshot(db, table: str, names: list[str]) -> list[tuple[object, ...]]:
    return db.rows(f"SELECT * FROM binance.{table} WHERE symbol = ANY(%s) ORDER BY 1, 2",
                   names)


@pytest.mark.parametrize("dataset, fault, field, problem", [
    pytest.param("recent_trades", Fault("negative_value", path="/api/v3/trades"), "[0].price",
                 "is negative", id="negative-trade-price"),
    pytest.param("latest_prices", Fault("foreign_symbol", path="/api/v3/ticker/price"),
                 "[2].symbol", "was not asked for", id="symbol-not-asked-for"),
])
def test_a_rejected_row_writes_nothing_of_its_load(
        make_extractor, sim, sim_clock, db, cleanup: list[str], dataset: str, fault: Fault,
        field: str, problem: str, sym: Callable[[str], str]) -> None:
    names = cleanup
    extractor = make_extractor(["BTCUSDT", "ETHUSDT"], datasets=[dataset])
    sim_clock.advance(5)
    (first,) = extractor.run_cycle()
    assert first.status == "ok" and first.counts.inserted > 0
    before = snapshot(db, dataset, names)

    sim_clock.advance(30)  # new trades and new prices: a good answer would write
    if fault.kind == "negative_value":
        fault.symbol = sym("ETHUSDT")  # BTCUSDT's answer is fine, ETHUSDT's first price is not
    sim.faults.add(fault)
    (run,) = extractor.run_cycle()
    assert run.status == "failed" and run.counts.inserted == run.counts.updated == 0
    assert f"{dataset} load rejected, nothing written" in run.error
    assert f"field {field}" in run.error and problem in run.error
    assert snapshot(db, dataset, names) == before
    assert db.count(dataset, [f"NOTASKED{name}" for name in names]) == 0
    logged = db.value("SELECT error FROM binance.extraction_runs WHERE run_id = %s", run.run_id)
    assert logged == run.error

    (recovered,) = extractor.run_cycle()  # the fault fired once: the next poll loads again
    assert recovered.status == "ok"
    assert snapshot(db, dataset, names) != before
