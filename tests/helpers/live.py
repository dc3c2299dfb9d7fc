"""The live trade writer in tests: the simulator on the real clock, the writer as a process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from binance_cdc.binance.parse import trade_rows
from binance_cdc.binance.simulator import responses
from binance_cdc.binance.simulator.market import Market
from binance_cdc.binance.simulator.server import SimulatorServer
from binance_cdc.binance.simulator.streams import StreamServer

ROOT = Path(__file__).resolve().parents[2]


class LiveSim:
    """The simulator's REST and WebSocket fronts over one market on the real clock."""

    def __init__(self, suffix: str, extra_symbols: int = 0) -> None:
        # No trades until the test says so: every trade is then one the writer could see.
        self.market = Market(23, symbol_suffix=suffix, history_minutes=30, trade_rate_scale=0.0,
                             extra_symbols=extra_symbols)
        self.rest = SimulatorServer(self.market).start()
        self.streams = StreamServer(self.market, self.rest.faults).start()
        self.faults = self.rest.faults

    def trade(self, per_symbol_s: float) -> None:
        for symbol in self.market.symbols:
            self.market.set_trade_rate(symbol, per_symbol_s)

    def wait_connections(self, total: int, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while self.streams.connections_total < total or not self.streams.clients:
            assert time.monotonic() < deadline, f"no {total}th stream connection"
            time.sleep(0.05)

    def log_rows(self, symbol: str) -> list[tuple[object, ...]]:
        """Every trade the simulator produced for ``symbol``, as recent_trades rows."""
        with self.market.lock:
            market = self.market.get(symbol)
            assert market is not None
            payload = responses.trades(market, len(market.trades))
        return trade_rows(symbol, payload)

    def stop(self) -> None:
        self.streams.stop()
        self.rest.stop()


@contextlib.contextmanager
def live_simulator(suffix: str, conn: Any, extra_symbols: int = 0) -> Iterator[LiveSim]:
    """A :class:`LiveSim`; afterwards its symbols' progress rows are deleted."""
    sim = LiveSim(suffix, extra_symbols)
    try:
        yield sim
    finally:
        sim.stop()
        with conn.cursor() as cur:
            cur.execute("DELETE FROM binance.live_trade_progress WHERE symbol = ANY(%s)",
                        (list(sim.market.symbols),))
        conn.commit()


class Writer:
    """`python -m binance_cdc trades live ...` as a user starts it; output in a file."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "binance_cdc", *argv], cwd=ROOT,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         env={**os.environ, **(env or {})})

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


def stored_rows(db: Any, symbol: str) -> list[tuple[object, ...]]:
    return db.rows("SELECT symbol, trade_id, price, qty, quote_qty, trade_time, is_buyer_maker, "
                   "is_best_match FROM binance.recent_trades WHERE symbol = %s ORDER BY trade_id",
                   symbol)


def wait_all_stored(db: Any, sim: LiveSim, symbols: list[str], timeout_s: float = 40) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        missing = {s: len(sim.log_rows(s)) - db.count("recent_trades", [s]) for s in symbols}
        if not any(missing.values()):
            return
        if time.monotonic() > deadline:
            absent = {s: sorted({r[1] for r in sim.log_rows(s)} - {r[1] for r in stored_rows(
                db, s)}) for s in symbols}
            first = {s: sim.log_rows(s)[0][1] for s in symbols}
            pytest.fail(f"trades still missing in Postgres: {absent} (first ids {first})")
        time.sleep(0.25)


def exact(rows: list[tuple[object, ...]]) -> list[tuple[str, ...]]:
    """Rows with every value as text: 67012.34000000 and 67012.34 differ here."""
    return [tuple(str(v) for v in row) for row in rows]
