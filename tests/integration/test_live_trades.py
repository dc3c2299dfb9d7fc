"""The live trade writer as a real process against the simulator over a real WebSocket and the
real PostgreSQL: drops, a SIGKILL and a restart lose nothing and duplicate nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from binance_cdc.binance.parse import trade_rows
from binance_cdc.binance.simulator import responses
from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.binance.simulator.market import Market
from binance_cdc.binance.simulator.server import SimulatorServer
from binance_cdc.binance.simulator.streams import StreamServer

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
FIVE = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "1000SATSUSDT", "币安人生USDT"]


class LiveSim:
    """The simulator's REST and WebSocket fronts over one market on the real clock."""

    def __init__(self, suffix: str) -> None:
        # No trades until the test says so: every trade is then one the writer could see.
        self.market = Market(23, symbol_suffix=suffix, history_minutes=30, trade_rate_scale=0.0)
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


@pytest.fixture
def live_sim(unique_name: str, db: Any) -> Iterator[LiveSim]:
    sim = LiveSim(f"_{unique_name}")
    try:
        yield sim
    finally:
        sim.stop()
        db.rows("DELETE FROM binance.live_trade_progress WHERE symbol = ANY(%s) RETURNING 1",
                list(sim.market.symbols))


class Writer:
    """`python -m binance_cdc trades live ...` as a user starts it; output in a file."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "binance_cdc", *argv], cwd=ROOT,
                                         stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


@pytest.fixture
def start_writer(live_sim: LiveSim, tmp_path: Path) -> Iterator[Callable[..., Writer]]:
    started: list[Writer] = []

    def start(symbols: list[str]) -> Writer:
        writer = Writer(["trades", "live", "--base-url", live_sim.rest.url,
                         "--ws-url", live_sim.streams.url, "--symbols", ",".join(symbols)],
                        tmp_path / f"writer-{len(started)}.log")
        started.append(writer)
        return writer

    yield start
    for writer in started:
        if writer.proc.poll() is None:
            writer.kill()


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


def test_drops_a_sigkill_and_a_restart_lose_and_duplicate_nothing(live_sim, start_writer, db):
    symbols = [s for s in live_sim.market.symbols if s.rsplit("_", 1)[0] in FIVE]
    assert len(symbols) == 5
    first = start_writer(symbols)
    live_sim.wait_connections(1)
    live_sim.trade(120)  # 600 trades a second over 5 symbols
    time.sleep(1.5)
    live_sim.faults.add(Fault("ws_disconnect"))
    live_sim.wait_connections(2)
    time.sleep(1.5)
    live_sim.faults.add(Fault("ws_disconnect"))
    live_sim.wait_connections(3)
    time.sleep(1.5)
    first.kill()  # SIGKILL: whatever was queued is lost with the process
    time.sleep(1.0)  # trades go on meanwhile
    second = start_writer(symbols)
    live_sim.wait_connections(4)
    time.sleep(1.5)
    live_sim.trade(0)

    wait_all_stored(db, live_sim, symbols)
    assert second.stop() == 0, second.output()

    total = 0
    for symbol in symbols:
        produced = live_sim.log_rows(symbol)
        total += len(produced)
        assert exact(stored_rows(db, symbol)) == exact(produced), symbol  # each once, exact
        (progress,) = db.rows("SELECT last_complete_id, known_gaps FROM "
                              "binance.live_trade_progress WHERE symbol = %s", symbol)
        assert progress == (produced[-1][1], [])
    assert total > 2500
    first_log, second_log = first.output(), second.output()
    assert first_log.count("reconnecting") == 2, first_log
    assert "repaired" in second_log and "live trades stopped" in second_log, second_log


def test_malformed_unknown_and_bad_frames_are_counted_and_skipped(live_sim, start_writer, db):
    symbol = next(s for s in live_sim.market.symbols if s.startswith("ETHUSDT"))
    writer = start_writer([symbol])
    live_sim.wait_connections(1)
    live_sim.market.set_trade_rate(symbol, 100)
    for kind in ("ws_malformed", "ws_foreign", "ws_bad_value"):
        live_sim.faults.add(Fault(kind))
    time.sleep(1.0)
    live_sim.trade(0)
    wait_all_stored(db, live_sim, [symbol])
    assert writer.stop() == 0
    out = writer.output()
    assert 'skipped a malformed message (not JSON' in out
    assert 'skipped a unknown_stream message (stream \'zzznotsubscribedusdt@trade\'' in out
    assert '"p": "not-a-number"' in out  # logged with its text...
    assert "skipped: malformed=2 unknown_stream=1" in out  # ...counted
    assert "repaired 1 trades" in out  # and the trade it carried came from REST instead
    assert exact(stored_rows(db, symbol)) == exact(live_sim.log_rows(symbol))


def test_an_unknown_symbol_stops_the_start_with_exit_2(live_sim, db):
    symbol = next(iter(live_sim.market.symbols))
    proc = subprocess.run([sys.executable, "extraction_script.py", "--live-trades",
                           "--base-url", live_sim.rest.url, "--ws-url", live_sim.streams.url,
                           "--symbols", f"{symbol},NOPEUSDT"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "error: cannot stream trades of NOPEUSDT" in proc.stderr
    assert "fix BINANCE_SYMBOLS or --symbols" in proc.stderr
    assert live_sim.streams.connections_total == 0
    assert db.count("live_trade_progress", [symbol]) == 0


def test_a_bad_websocket_url_is_a_clear_error(live_sim):
    symbol = next(iter(live_sim.market.symbols))
    proc = subprocess.run([sys.executable, "-m", "binance_cdc", "trades", "live",
                           "--base-url", live_sim.rest.url, "--ws-url", "http://127.0.0.1:1",
                           "--symbols", symbol], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ})
    assert proc.returncode == 2, proc.stderr
    assert "LIVE_WS_URL 'http://127.0.0.1:1' is not a WebSocket URL" in proc.stderr
