"""Per-symbol trade-id bookkeeping of the live writer: complete ids, holes, catch-ups (pure)."""

from __future__ import annotations

import pytest

from binance_cdc.extract.live.tracker import IdRanges, SymbolTrack, Tracker

GRACE = 0.5


@pytest.mark.parametrize("added, ranges", [
    pytest.param([5], [(5, 5)], id="one"),
    pytest.param([5, 6, 7], [(5, 7)], id="adjacent-merge"),
    pytest.param([7, 5, 6], [(5, 7)], id="out-of-order-merge"),
    pytest.param([1, 10, 5], [(1, 1), (5, 5), (10, 10)], id="apart"),
    pytest.param([(1, 3), (7, 9), (4, 6)], [(1, 9)], id="bridge"),
    pytest.param([(1, 10), (3, 4)], [(1, 10)], id="inside"),
    pytest.param([(5, 4)], [], id="empty-range"),
])
def test_id_ranges_merge(added, ranges):
    ids = IdRanges()
    for item in added:
        ids.add(*(item if isinstance(item, tuple) else (item,)))
    assert ids.ranges() == ranges


def test_id_ranges_membership_and_holes():
    ids = IdRanges()
    for low, high in [(3, 4), (8, 8), (11, 12)]:
        ids.add(low, high)
    assert [i for i in range(15) if i in ids] == [3, 4, 8, 11, 12]
    assert ids.holes_after(1) == [(1, 2), (5, 7), (9, 10)]
    assert ids.holes_after(9) == [(9, 10)]


def run(ids: list[int], start: int | None = None, now: float = 0.0) -> tuple[SymbolTrack, list]:
    track = SymbolTrack("X", complete=start)
    accepted = [track.accept(i, now) for i in ids]
    return track, accepted


@pytest.mark.parametrize("start, ids, complete, accepted, holes", [
    pytest.param(None, [100, 101, 102], 102, [True] * 3, [], id="first-trade-starts-here"),
    pytest.param(99, [100, 101], 101, [True, True], [], id="contiguous-after-restart"),
    pytest.param(99, [101, 100], 101, [True, True], [], id="out-of-order-healed"),
    pytest.param(99, [100, 100, 99, 50], 100, [True, False, False, False], [],
                 id="duplicates-and-old-ids"),
    pytest.param(99, [100, 104, 105], 100, [True] * 3, [(101, 103)], id="hole"),
    pytest.param(99, [103, 107], 99, [True, True], [(100, 102), (104, 106)], id="two-holes"),
    pytest.param(99, [103, 103], 99, [True, False], [(100, 102)], id="duplicate-above-hole"),
])
def test_accept_advances_complete_and_leaves_holes(start, ids, complete, accepted, holes):
    track, got = run(ids, start)
    assert got == accepted
    assert track.complete == complete
    assert track.due(now=10.0, grace_s=GRACE) == holes


def test_a_hole_waits_for_late_trades_before_it_is_due():
    track, _ = run([100, 103], start=99, now=1.0)
    assert track.due(1.2, GRACE) == []
    assert track.due(1.5, GRACE) == [(101, 102)]
    track.accept(101, 1.6)
    track.accept(102, 1.6)  # arrived late: nothing to repair
    assert track.complete == 103 and track.due(9.0, GRACE) == []


@pytest.mark.parametrize("start, ids, due", [
    pytest.param(99, [], [(100, None)], id="quiet-symbol-from-complete-on"),
    pytest.param(99, [100, 101], [(102, None)], id="caught-up-stream-above-newest"),
    pytest.param(99, [105], [(100, 104), (106, None)], id="hole-and-beyond"),
])
def test_a_reconnect_asks_for_a_catch_up(start, ids, due):
    tracker = Tracker(["X"])
    tracker.resume("X", start, [])
    for i in ids:
        tracker["X"].accept(i, 0.0)
    tracker.connected(["X"])
    assert tracker["X"].due(0.0, GRACE) == due  # no grace: the outage is certain


def test_no_catch_up_without_a_known_past():
    tracker = Tracker(["X"])
    tracker.connected(["X"])
    assert tracker["X"].due(0.0, GRACE) == [] and not tracker.progress()


def test_an_unreadable_first_trade_is_repaired_not_forgotten():
    track = SymbolTrack("X")
    track.expect(100)  # its price was garbage; its id was not
    track.accept(101, 0.0)
    assert track.due(1.0, GRACE) == [(100, 100)]
    track.expect(50)  # later expectations do not move the start
    assert track.complete == 99


def test_repaired_rows_and_absent_ids_complete_the_range():
    track, _ = run([100, 110], start=99)
    for i in range(101, 105):
        track.accept(i, 1.0)
    track.mark_absent([(105, 109)], 1.0)
    assert track.complete == 110 and track.known_gaps == [(105, 109)]
    assert track.due(9.0, GRACE) == []


def test_ids_rest_lacks_are_retried_then_recorded_as_known_gaps():
    track, _ = run([100, 105], start=99)
    due = track.due(1.0, GRACE)
    assert due == [(101, 104)]
    for attempt in range(1, 3):
        given_up = track.repaired(caught_up=False, not_yet=due, short=False, now=attempt,
                                  retry_s=2.0, max_attempts=3)
        assert given_up == [] and track.due(attempt + 1.0, GRACE) == []  # waits retry_s
        assert track.due(attempt + 2.0, GRACE) == due
    assert track.repaired(caught_up=False, not_yet=due, short=False, now=3.0, retry_s=2.0,
                          max_attempts=3) == due
    assert track.complete == 105 and track.known_gaps == [(101, 104)]


def test_a_budget_shortfall_is_not_an_attempt():
    track, _ = run([100, 105], start=99)
    for _ in range(10):
        assert track.repaired(caught_up=False, not_yet=[], short=True, now=1.0, retry_s=2.0,
                              max_attempts=3) == []
    assert track.due(1.0, GRACE) == [(101, 104)] and track.known_gaps == []


def test_catch_up_ends_when_rest_reached_the_newest_trade():
    tracker = Tracker(["X"])
    tracker.resume("X", 99, [])
    tracker.connected(["X"])
    track = tracker["X"]
    track.repaired(caught_up=False, not_yet=[], short=True, now=0.0, retry_s=2.0, max_attempts=3)
    assert track.due(0.0, GRACE) == [(100, None)]
    track.repaired(caught_up=True, not_yet=[], short=False, now=0.0, retry_s=2.0, max_attempts=3)
    assert track.due(0.0, GRACE) == []


def test_progress_lists_only_symbols_that_moved():
    tracker = Tracker(["A", "B"])
    tracker.resume("B", 5, [(2, 3)])
    tracker["A"].accept(10, 0.0)
    tracker["A"].accept(11, 0.0)
    assert tracker.progress() == [("A", 11, [])]
    assert tracker.progress() == []
    tracker["B"].mark_absent([(6, 6)], 0.0)
    assert tracker.progress() == [("B", 6, [(2, 3), (6, 6)])]
