"""The simulator's request-weight limiter: Binance's rules, per fixed one-minute window.

Over ``limit`` in a window -> 429 with ``Retry-After`` (seconds to the next
window). A client that keeps calling during that wait gets banned: 418 with
``Retry-After`` = ``ban_s`` for every request until the ban lifts.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """What to answer: 200 (allowed), 429 or 418, with the used weight and Retry-After."""

    status: int
    used: int
    retry_after: int = 0


class WeightLimiter:
    def __init__(self, limit: int = 6000, *, window_s: float = 60.0, ban_after: int = 3,
                 ban_s: float = 120.0, clock: Callable[[], float] = time.time) -> None:
        self.limit, self.window_s, self.ban_after, self.ban_s = limit, window_s, ban_after, ban_s
        self._clock = clock
        self._window = -1
        self._used = 0
        self._rejected = 0
        self._banned_until = 0.0
        self._lock = threading.Lock()

    def charge(self, weight: int) -> Verdict:
        """Count one request of ``weight`` and decide its fate."""
        with self._lock:
            now = self._clock()
            if now < self._banned_until:
                return Verdict(418, self._used, math.ceil(self._banned_until - now))
            window = math.floor(now / self.window_s)
            if window != self._window:
                self._window, self._used, self._rejected = window, 0, 0
            self._used += weight
            if self._used <= self.limit:
                return Verdict(200, self._used)
            self._rejected += 1
            if self._rejected > self.ban_after:
                self._banned_until = now + self.ban_s
                return Verdict(418, self._used, math.ceil(self.ban_s))
            return Verdict(429, self._used, max(1, math.ceil((window + 1) * self.window_s - now)))

    @property
    def used(self) -> int:
        with self._lock:
            return self._used
