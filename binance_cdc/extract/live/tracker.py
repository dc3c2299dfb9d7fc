"""Per-symbol trade-id bookkeeping of the live writer, as pure code.

Spot trade ids advance by one per symbol (observed, not documented), so the
writer keeps, per symbol, ``complete``: every id up to it is stored (or queued
in the batch being written) or known to be absent at the exchange. Ids that
arrive above ``complete + 1`` are kept as ranges (``received``); the holes below
them are what REST must repair:

* a hole waits ``grace_s`` for late trades (out-of-order delivery), then it is
  *due* as a closed range ``(low, high)``;
* after a (re)connection the writer cannot know what it missed until the next
  trade of a quiet symbol, so the symbol gets a *catch-up*: an open range
  ``(complete + 1, None)`` up to the newest trade;
* ids that REST skips over are recorded as known gaps and count as complete;
  ids REST does not return yet are asked for again after ``retry_s``, at most
  ``max_attempts`` times, then recorded as known gaps too (never retried forever).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

Gap = tuple[int, int]  # inclusive id range
Range = tuple[int, int | None]  # high None: up to the newest trade


class IdRanges:
    """A set of ints kept as sorted, disjoint, non-adjacent inclusive ranges."""

    def __init__(self) -> None:
        self._lows: list[int] = []
        self._highs: list[int] = []

    def __bool__(self) -> bool:
        return bool(self._lows)

    def __contains__(self, value: int) -> bool:
        i = bisect.bisect_right(self._lows, value) - 1
        return i >= 0 and value <= self._highs[i]

    def ranges(self) -> list[Gap]:
        return list(zip(self._lows, self._highs, strict=True))

    def add(self, low: int, high: int | None = None) -> None:
        high = low if high is None else high
        if high < low:
            return
        i = bisect.bisect_left(self._highs, low - 1)  # first range that may touch [low, high]
        j = i
        while j < len(self._lows) and self._lows[j] <= high + 1:
            low, high = min(low, self._lows[j]), max(high, self._highs[j])
            j += 1
        self._lows[i:j] = [low]
        self._highs[i:j] = [high]

    def pop_first(self) -> Gap:
        return self._lows.pop(0), self._highs.pop(0)

    def first(self) -> Gap | None:
        return (self._lows[0], self._highs[0]) if self._lows else None

    def holes_after(self, start: int) -> list[Gap]:
        """The ids from ``start`` up to the highest member that are not members."""
        holes, cursor = [], start
        for low, high in zip(self._lows, self._highs, strict=True):
            if high < cursor:
                continue
            if low > cursor:
                holes.append((cursor, low - 1))
            cursor = high + 1
        return holes


@dataclass
class SymbolTrack:
    """One symbol's progress; see the module docstring."""

    symbol: str
    complete: int | None = None
    known_gaps: list[Gap] = field(default_factory=list)
    received: IdRanges = field(default_factory=IdRanges)
    hole_since: float | None = None
    catch_up: bool = False
    attempts: int = 0
    retry_at: float = 0.0
    changed: bool = False
    """Progress moved since the last :meth:`Tracker.progress` snapshot."""

    def accept(self, trade_id: int, now: float) -> bool:
        """Record an arriving id; False if it is already stored or queued (a duplicate)."""
        if self.complete is None:
            self.complete = trade_id - 1  # the first trade this writer ever saw
            self.changed = True
        if trade_id <= self.complete or trade_id in self.received:
            return False
        self.received.add(trade_id)
        self._advance(now)
        return True

    def expect(self, trade_id: int) -> None:
        """A trade we could not read exists: if it is the first we see, start before it,
        so the hole it leaves is repaired like any other."""
        if self.complete is None:
            self.complete = trade_id - 1
            self.changed = True

    def mark_absent(self, gaps: list[Gap], now: float) -> None:
        """Ids the exchange does not have: known gaps, complete from now on."""
        for low, high in gaps:
            if self.complete is not None and high <= self.complete:
                continue
            self.known_gaps.append((low, high))
            self.received.add(low, high)
        self.known_gaps = _merged(self.known_gaps)
        self._advance(now)
        self.changed = True

    def _advance(self, now: float) -> None:
        first = self.received.first()
        while first is not None and self.complete is not None and first[0] <= self.complete + 1:
            self.received.pop_first()
            if first[1] > self.complete:
                self.complete = first[1]
                self.changed = True
                self.attempts = 0
            first = self.received.first()
        if not self.received:
            self.hole_since = None
        elif self.hole_since is None:
            self.hole_since = now

    def due(self, now: float, grace_s: float) -> list[Range]:
        """The ranges REST should fetch now (empty if none, or waiting to retry)."""
        if self.complete is None or now < self.retry_at:
            return []
        holes: list[Range] = list(self.received.holes_after(self.complete + 1))
        if self.catch_up:
            top = self.received.ranges()[-1][1] if self.received else self.complete
            return [*holes, (top + 1, None)]
        if holes and self.hole_since is not None and now - self.hole_since >= grace_s:
            return holes
        return []

    def repaired(self, *, caught_up: bool, not_yet: list[Gap], short: bool, now: float,
                 retry_s: float, max_attempts: int) -> list[Gap]:
        """Settle a repair round; return the ranges given up on (now known gaps).

        ``caught_up``: the open catch-up range reached the newest trade.
        ``not_yet``: due ranges the exchange does not return (yet): retried after
        ``retry_s``, given up after ``max_attempts`` rounds. ``short``: the page or
        weight budget ran out; the rest is due again on the next round.
        """
        if caught_up:
            self.catch_up = False
        if not not_yet:
            if not short:
                self.attempts = 0
            return []
        self.attempts += 1
        self.retry_at = now + retry_s
        if self.attempts < max_attempts:
            return []
        self.attempts = 0
        self.mark_absent(not_yet, now)
        return not_yet


def _merged(gaps: list[Gap]) -> list[Gap]:
    ranges = IdRanges()
    for low, high in gaps:
        ranges.add(low, high)
    return ranges.ranges()


class Tracker:
    """Every symbol's :class:`SymbolTrack`, keyed by symbol."""

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = {s: SymbolTrack(s) for s in symbols}

    def __getitem__(self, symbol: str) -> SymbolTrack:
        return self.symbols[symbol]

    def resume(self, symbol: str, complete: int, known_gaps: list[Gap]) -> None:
        """Start from stored progress (a restart)."""
        track = self.symbols[symbol]
        track.complete, track.known_gaps = complete, list(known_gaps)

    def connected(self, symbols: list[str]) -> None:
        """A connection (re)opened after a pause: catch up the symbols whose past we know."""
        for symbol in symbols:
            track = self.symbols[symbol]
            if track.complete is not None:
                track.catch_up = True
                track.retry_at = 0.0

    def progress(self) -> list[tuple[str, int, list[Gap]]]:
        """(symbol, complete, known gaps) of every symbol that moved since the last call."""
        out = []
        for track in self.symbols.values():
            if track.changed and track.complete is not None:
                out.append((track.symbol, track.complete, list(track.known_gaps)))
                track.changed = False
        return out
