"""Retry and rate-limit policy, as plain objects the client consults.

:class:`RetryPolicy` answers "may this failed call be tried again, and after how
long?"; :class:`WeightBudget` answers "may I spend this much request weight now,
or how long must I wait first?"; :class:`Deadline` answers "how long may this
request still take?". None sleeps or performs I/O, so all are unit-tested with a
fake clock; the client (``client.py``) owns the one loop that uses them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from binance_cdc.errors import BinanceApiError, RateLimitedError, RequestDeadlineError
from binance_cdc.settings import BinanceSettings

RETRYABLE_STATUSES: frozenset[int] = frozenset({500, 502, 503, 504})
"""5xx answers worth retrying for an idempotent GET (others are client or ban errors)."""


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a failed GET again.

    * an error that is not ``retryable`` -> never: 418 (banned), unknown symbols,
      malformed payloads, other 4xx and 5xx outside :data:`RETRYABLE_STATUSES`;
    * 429 -> exactly the server's ``Retry-After`` (never less: calling earlier is
      what gets an IP banned), unless it exceeds ``max_retry_after_s``;
    * a passed :class:`Deadline`, an answer over the size cap -> never (the
      deadline bounds the retries themselves; a second answer would be as big);
    * the rest (connection errors, timeouts, :data:`RETRYABLE_STATUSES`) -> exponential
      backoff ``backoff_base_s * 2**attempt``, capped at ``backoff_max_s``.
    """

    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: BinanceSettings) -> RetryPolicy:
        return cls(max_retries=settings.max_retries, backoff_base_s=settings.backoff_base_s,
                   backoff_max_s=settings.backoff_max_s,
                   max_retry_after_s=settings.max_retry_after_s)

    def delay(self, attempt: int, error: BinanceApiError) -> float | None:
        """Seconds to wait before retry number ``attempt + 1`` (0-based), or None to give up."""
        if attempt >= self.max_retries or not error.retryable:
            return None
        if isinstance(error, RequestDeadlineError):  # retryable by the next poll, not here
            return None
        if isinstance(error, RateLimitedError):
            if error.retry_after > self.max_retry_after_s:
                return None
            return max(error.retry_after, 0.0)
        return min(self.backoff_base_s * (2 ** attempt), self.backoff_max_s)


class WeightBudget:
    """Keeps the used request weight of the current minute below ``budget``.

    Binance counts weight per IP in fixed one-minute windows and reports the
    running total in ``X-MBX-USED-WEIGHT-1M``. The budget trusts that header
    whenever a response carries it, adds its own forecast for calls in flight,
    and tells the caller to wait for the next window rather than cross
    ``budget`` (set below the exchange's 6000 so other clients on the same IP
    have room and we never see a 429 in normal operation).
    """

    def __init__(self, budget: int, *, window_s: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        if budget <= 0:
            raise ValueError(f"weight budget must be positive, got {budget}")
        self.budget = budget
        self.window_s = window_s
        self._clock = clock
        self._window = -1
        self._used = 0
        self._lock = threading.Lock()

    def _window_of(self, now: float) -> int:
        return math.floor(now / self.window_s)

    def _roll(self, now: float) -> None:
        window = self._window_of(now)
        if window != self._window:
            self._window, self._used = window, 0

    @property
    def used(self) -> int:
        """Weight used in the current window, as far as we know."""
        with self._lock:
            self._roll(self._clock())
            return self._used

    def headroom(self) -> int:
        """Weight still available in this window before the budget is reached."""
        return max(self.budget - self.used, 0)

    def wait_for(self, cost: int) -> float:
        """Seconds to wait before a call costing ``cost`` fits the budget (0 if it fits now)."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            if self._used + cost <= self.budget or self._used == 0:
                return 0.0
            return (self._window + 1) * self.window_s - now

    def spend(self, cost: int) -> None:
        """Record a call about to be made (the forecast until its response says otherwise)."""
        with self._lock:
            self._roll(self._clock())
            self._used += cost

    def observe(self, used_header: str | None) -> None:
        """Adopt the server's count from ``X-MBX-USED-WEIGHT-1M`` (ignored when absent or bad)."""
        if used_header is None:
            return
        try:
            used = int(used_header)
        except ValueError:
            return
        with self._lock:
            self._roll(self._clock())
            self._used = used


class Deadline:
    """The total time one request may take: every connect, read, retry and wait in it.

    Started when the first attempt goes out (a wait for the weight budget before it
    is our own pacing, not a slow exchange). The client clamps each socket wait to
    :meth:`timeout` and gives up when a retry's delay is not :meth:`allows`-ed.
    """

    SLACK_S = 0.005
    """Time left below this counts as none: a socket wait that short is noise."""

    def __init__(self, total_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if total_s <= 0:
            raise ValueError(f"a deadline must be positive, got {total_s}")
        self.total_s = total_s
        self._clock = clock
        self._started = clock()

    def elapsed(self) -> float:
        return self._clock() - self._started

    def remaining(self) -> float:
        return max(self.total_s - self.elapsed(), 0.0)

    def expired(self) -> bool:
        return self.remaining() < self.SLACK_S

    def allows(self, wait_s: float) -> bool:
        """Whether waiting ``wait_s`` still leaves time for another attempt."""
        return wait_s + self.SLACK_S < self.remaining()

    def timeout(self, per_wait_s: float) -> float:
        """The socket timeout for the next wait: ``per_wait_s``, or less if less time is left."""
        return max(min(per_wait_s, self.remaining()), self.SLACK_S)
