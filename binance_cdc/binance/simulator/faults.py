"""Failures the simulator can be told to produce, for tests and demos.

A :class:`Fault` matches requests by path and optionally by symbol
and fires ``times`` times (None: until cleared). HTTP faults answer REST
requests; ``ws_*`` faults act on the WebSocket streams (``streams.py``). Switch them on in-process
(``server.faults.add(Fault(...))``) or over HTTP: ``POST /sim/faults`` with a
JSON body like ``{"kind": "429", "path": "/api/v3/trades", "times": 1,
"retry_after": 1}``; ``DELETE /sim/faults`` clears them, ``GET`` lists them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

HTTP_KINDS = ("429", "418", "500", "malformed", "bad_value", "negative_value", "foreign_symbol",
              "slow", "unknown_symbol")
"""429/418/500: that status; malformed: truncated JSON; bad_value: a number replaced by
"not-a-number"; negative_value: the first decimal string made negative; foreign_symbol: a
multi-symbol answer gets a copy of its first item under a symbol nobody asked for
(``NOTASKED<symbol>``); slow: answer after ``delay_s``; unknown_symbol: -1121 for ``symbol``."""
WS_KINDS = ("ws_disconnect", "ws_shutdown", "ws_malformed", "ws_foreign", "ws_bad_value")
"""On every WebSocket connection (``times`` counts injections, not connections):
ws_disconnect: drop the TCP connection without a close frame; ws_shutdown: send a
``serverShutdown`` event, then close after ``delay_s``; ws_malformed: a frame that is not
JSON; ws_foreign: a trade on a stream nobody subscribed; ws_bad_value: the next trade
(of ``symbol``, if given) goes out with a price that is not a number."""
KINDS = HTTP_KINDS + WS_KINDS


@dataclass
class Fault:
    """One switchable failure."""

    kind: str
    path: str | None = None
    times: int | None = 1
    retry_after: float = 1.0
    delay_s: float = 0.0
    symbol: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; "
                             f"expected one of {', '.join(KINDS)}")
        if self.kind == "unknown_symbol" and not self.symbol:
            raise ValueError("an unknown_symbol fault needs a symbol")

    def matches(self, path: str, symbols: Sequence[str]) -> bool:
        """Applies to a request of ``path`` naming ``symbols`` (``symbol`` narrows any kind)."""
        if self.path is not None and self.path != path:
            return False
        return self.symbol is None or self.symbol in symbols

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        fields = {k: body[k] for k in ("kind", "path", "times", "retry_after", "delay_s", "symbol")
                  if k in body}
        return cls(**fields)


class FaultPlan:
    """The active faults; thread-safe, consumed first-added first."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, path: str, symbols: Sequence[str],
             kinds: tuple[str, ...] = HTTP_KINDS) -> Fault | None:
        """The first fault of ``kinds`` matching this request, counting one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(path, symbols):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


def corrupt_first_number(payload: Any) -> bool:
    """Replace the first decimal string in ``payload`` with "not-a-number" (in place)."""
    found = _first_number(payload)
    if found is None:
        return False
    container, key = found
    container[key] = "not-a-number"
    return True


def _first_number(payload: Any) -> tuple[Any, Any] | None:
    """The container and key of the first decimal string in ``payload`` (depth first)."""
    if isinstance(payload, dict):
        items: list[tuple[Any, Any]] = list(payload.items())
    elif isinstance(payload, list):
        items = list(enumerate(payload))
    else:
        return None
    for key, value in items:
        if isinstance(value, str) and value.replace(".", "", 1).isdigit():
            return payload, key
        found = _first_number(value)
        if found is not None:
            return found
    return None


def negate_first_number(payload: Any) -> bool:
    """Make the first decimal string in ``payload`` negative (in place): well-formed, but wrong."""
    found = _first_number(payload)
    if found is None:
        return False
    container, key = found
    container[key] = "-" + container[key]
    return True


def add_foreign_symbol(payload: Any) -> bool:
    """Append a copy of the first item of an array-form answer as ``NOTASKED<symbol>``."""
    if not (isinstance(payload, list) and payload and isinstance(payload[0], dict)
            and "symbol" in payload[0]):
        return False
    payload.append({**payload[0], "symbol": f"NOTASKED{payload[0]['symbol']}"})
    return True
