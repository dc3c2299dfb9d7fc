"""Connection rules of Binance's WebSocket streams, as plain objects with an injectable clock.

* :class:`ReconnectBackoff` — how long to wait before the next connection attempt:
  "full jitter" (uniform in 0..base*2**failures, capped), so many clients cut off
  together do not come back in lockstep;
* :class:`AttemptLimiter` — at most N connection attempts per sliding window
  (Binance: 300 per 5 minutes per IP; more gets the IP banned);
* :class:`MessagePacer` — spacing of the messages we send on one connection
  (Binance: 5 per second including pings and pongs).

None of them sleeps; the feed (``feed.py``) asks and waits.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ReconnectBackoff:
    """Delay before reconnect attempt ``failures + 1``; :meth:`reset` after a healthy connection."""

    base_s: float
    max_s: float
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.base_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self.rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.failures = 0


class AttemptLimiter:
    """Allows ``limit`` attempts per ``window_s`` sliding window, shared by all connections."""

    def __init__(self, limit: int, window_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0:
            raise ValueError(f"attempt limit must be positive, got {limit}")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._attempts: deque[float] = deque()

    def wait_s(self) -> float:
        """Seconds until one more attempt fits the window (0: now)."""
        now = self._clock()
        while self._attempts and self._attempts[0] <= now - self.window_s:
            self._attempts.popleft()
        if len(self._attempts) < self.limit:
            return 0.0
        return self._attempts[0] + self.window_s - now

    def record(self) -> None:
        self._attempts.append(self._clock())


class MessagePacer:
    """Spaces our messages so that, with one ping and one pong per ping interval, a
    connection never sends more than ``per_s`` messages in a second."""

    def __init__(self, per_s: float, *, reserved_per_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = 1.0 / max(per_s - reserved_per_s, per_s / 2)
        self._clock = clock
        self._next = 0.0

    def wait_s(self) -> float:
        """Seconds to wait before the next message may go (then call :meth:`sent`)."""
        return max(0.0, self._next - self._clock())

    def sent(self) -> None:
        self._next = max(self._next, self._clock()) + self.interval_s
