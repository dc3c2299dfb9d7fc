"""Row-by-row comparison of differing buckets: counts, examples, dead letters, spill files."""

from __future__ import annotations

from pathlib import Path

from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.verify.dead_letters import DeadLetter
from binance_cdc.verify.drill import UNREPRESENTABLE, Comparison, Spill, plan_groups
from binance_cdc.verify.spec import TableSpec

SPEC = TableSpec.of_dataset(RECENT_TRADES)


def trade(n: int, price: bytes = b"1.5", time: bytes = b"1714564800123") -> tuple[bytes, ...]:
    return (b"X", str(n).encode(), price, b"2", b"3", time, b"true", b"true")


def test_plan_groups_respects_the_budget_and_keeps_oversized_buckets_alone() -> None:
    sizes = [10, 60, 30, 200, 5]
    assert plan_groups([0, 1, 2, 3, 4], sizes, 100) == [[0, 1, 2], [3], [4]]
    assert plan_groups([], sizes, 100) == []


def test_spill_keeps_only_chosen_buckets_by_group(tmp_path: Path) -> None:
    spill = Spill(tmp_path, "t", [[1], [2, 3]], lambda rows: [int(p[1]) % 5 for p in rows])
    spill.add_all([trade(n) for n in range(20)])
    spill.close()
    assert [int(p[1]) for p in spill.rows(0)] == [1, 6, 11, 16]
    assert sorted(int(p[1]) for p in spill.rows(1)) == [2, 3, 7, 8, 12, 13, 17, 18]


def test_comparison_names_missing_extra_and_different_rows_with_their_columns() -> None:
    comparison = Comparison(SPEC)
    comparison.group([trade(1), trade(2), trade(3, price=b"1.6")],
                     [trade(2), trade(3), trade(4)])
    assert comparison.counts == {"missing": 1, "extra": 1, "different": 1, "held": 0}
    by_kind = {s.kind: s for s in comparison.samples}
    assert by_kind["missing"].key == {"symbol": "X", "trade_id": "1"}
    assert by_kind["extra"].key == {"symbol": "X", "trade_id": "4"}
    assert by_kind["different"].columns == {"price": ("1.6", "1.5")}
    assert by_kind["missing"].columns["trade_time"] == ("2024-05-01T12:00:00.123Z", None)


def test_unrepresentable_rows_in_dead_letters_are_held_the_others_reported() -> None:
    letter = DeadLetter("binance.binance.recent_trades", 0, 7, "NaN is not a decimal", "{}")
    comparison = Comparison(SPEC, lambda key: letter if key == (b"X", b"1") else None)
    comparison.group([trade(1, price=b"NaN"), trade(2, time=b"infinity"), trade(3, price=b"NaN")],
                     [trade(3)])
    assert comparison.counts == {"missing": 1, "extra": 0, "different": 1, "held": 1}
    notes = {s.key["trade_id"]: (s.kind, s.note) for s in comparison.samples}
    assert notes["1"] == ("held", "held in dead letters (binance.binance.recent_trades partition 0 "
                                  "offset 7): NaN is not a decimal")
    assert notes["2"] == ("missing", UNREPRESENTABLE)
    assert notes["3"] == ("different", UNREPRESENTABLE)


def test_samples_are_capped_per_kind_but_counts_are_not() -> None:
    comparison = Comparison(SPEC)
    comparison.group([trade(n) for n in range(50)], [])
    assert comparison.counts["missing"] == 50
    assert len(comparison.samples) == 10
