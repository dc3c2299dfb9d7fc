"""The live trade writer as a real process against the simulator over a real WebSocket and the
real PostgreSQL: drops, a SIGKILL and a restart lose nothing and duplicate nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from binance_cdc.binance.simulator.faults import Fault
from tests.helpers.live import LiveSim, Writer, exact, live_simulator, stored_rows, wait_all_stored

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
FIVE = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "1000SATSUSDT", "币安人生USDT"]


@pytest.fixture
def live_sim(unique_name: str, db: Any) -> Iterator[LiveSim]:
    with live_simulator(f"_{unique_name}", db.conn) as sim:
        yield sim


@pytest.fixture
def start_writer(live_sim: LiveSim, tmp_path: Path) -> Iterator[Callable[..., Writer]]:
    """start_writer(symbols, sim=live_sim, env={...}): the writer against a simulator."""
    started: list[Writer] = []

    def start(symbols: list[str], *, sim: LiveSim = live_sim,
              env: dict[str, str] | None = None) -> Writer:
        writer = Writer(["trades", "live", "--base-url", sim.rest.url,
                         "--ws-url", sim.streams.url, "--symbols", ",".join(symbols)],
                        tmp_path / f"writer-{len(started)}.log", env)
        started.append(writer)
        return writer

    yield start
    for writer in started:
        if writer.proc.poll() is None:
            writer.kill()


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


def test_rotations_and_hundreds_of_streams_need_no_repair(unique_name, start_writer, db):
    """Connections replaced before their lifetime ends and on serverShutdown (make before
    break), 305 streams (the URL holds ~230, the rest SUBSCRIBEd): nothing to repair."""
    with live_simulator(f"_{unique_name}", db.conn, extra_symbols=300) as sim:
        symbols = list(sim.market.symbols)
        writer = start_writer(symbols, sim=sim, env={"LIVE_CONNECTION_LIFETIME_S": "2.5",
                                                     "LIVE_ROTATE_MARGIN_S": "0.5"})
        sim.wait_connections(1)
        deadline = time.monotonic() + 10
        while sum(len(c.streams) for c in sim.streams.clients) < len(symbols):
            assert time.monotonic() < deadline, "the SUBSCRIBE for the rest never came"
            time.sleep(0.05)
        sim.trade(1.0)  # 305 trades a second
        time.sleep(2.5)
        sim.faults.add(Fault("ws_shutdown", delay_s=2))
        time.sleep(2.5)
        sim.trade(0)
        wait_all_stored(db, sim, symbols)
        assert writer.stop() == 0
        out = writer.output()
        assert out.count("opening a replacement before closing this connection") >= 3, out
        assert "the server announced a shutdown" in out
        assert sim.rest.requests["/api/v3/historicalTrades"] == 0, out  # no hole at all
        assert "reconnecting" not in out


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
