"""How far a verify run is: rows read of the table being read, rate and time left.

The library reports to a callback; the CLI draws a bar on a terminal, and
without one these updates become a log line every few seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

LOG_EVERY_S = 10.0


@dataclass(frozen=True)
class Progress:
    table: str
    step: str
    """What is being read: "postgres vs cassandra", "derived from recent_trades", "differing buckets"."""
    rows: int
    expected: int | None
    """Rows the step is expected to read (an estimate), or None if unknown."""
    elapsed_s: float
    done: bool = False

    @property
    def rate(self) -> float:
        return self.rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.expected or not self.rate or self.rows >= self.expected:
            return None
        return (self.expected - self.rows) / self.rate


ProgressFn = Callable[[Progress], None]


class LogProgress:
    """Progress as log lines: one every LOG_EVERY_S and one when a step ends."""

    def __init__(self, every_s: float = LOG_EVERY_S) -> None:
        self.every_s = every_s
        self._last = float("-inf")

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if not progress.done and now - self._last < self.every_s:
            return
        self._last = now
        eta = progress.eta_s
        log.info("%s (%s): %s%d rows, %.0f rows/s%s", progress.table, progress.step,
                 "done, " if progress.done else "", progress.rows, progress.rate,
                 "" if eta is None else f", about {eta:.0f}s left")
