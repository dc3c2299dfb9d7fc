"""The README's live-trades commands, verbatim, as a user runs them: a plain environment, the
simulator on its default ports, the writer until SIGTERM; checked in the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_for

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
PLAIN_ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}


def readme_line(prefix: str) -> str:
    """The README's command line that starts with ``prefix`` (without its comment)."""
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(prefix):
            return line.split("  #")[0].strip()
    raise AssertionError(f"the README shows no command starting with {prefix!r}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def readme_simulator() -> Iterator[None]:
    """`binance-cdc simulator` from the README (python -m binance_cdc is the same command)."""
    command = readme_line("binance-cdc simulator  ")
    assert command == "binance-cdc simulator"
    if port_open(8765) or port_open(8766):
        pytest.fail("ports 8765/8766 of the README's simulator are taken (`binance-cdc stop` "
                    "stops a demo's simulator)", pytrace=False)
    proc = subprocess.Popen([sys.executable, "-m", "binance_cdc", "simulator"], cwd=ROOT,
                            env=PLAIN_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the simulator", lambda: requests.get(
            "http://127.0.0.1:8765/api/v3/ping", timeout=1).raise_for_status(), timeout_s=20)
        wait_for("the simulator's streams", lambda: port_open(8766) or 1 / 0, timeout_s=20)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def test_readme_live_trades_command(readme_simulator, db):
    command = readme_line("python extraction_script.py --live-trades")
    assert "--ws-url ws://127.0.0.1:8766" in command and "--symbols BTCUSDT,ETHUSDT" in command
    started = dt.datetime.now(dt.timezone.utc)
    # Split like a shell would; `python` is found on the plain PATH.
    proc = subprocess.Popen(shlex.split(command), cwd=ROOT, env=PLAIN_ENV,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "live trades stopped" in err
    rows = db.rows("SELECT symbol, count(*) FROM binance.recent_trades WHERE symbol = ANY(%s) "
                   "AND trade_time >= %s GROUP BY symbol ORDER BY symbol",
                   ["BTCUSDT", "ETHUSDT"], started - dt.timedelta(seconds=1))
    assert [symbol for symbol, count in rows if count > 0] == ["BTCUSDT", "ETHUSDT"], err
    progress = db.rows("SELECT symbol FROM binance.live_trade_progress WHERE symbol = ANY(%s) "
                       "AND updated_at >= %s ORDER BY symbol", ["BTCUSDT", "ETHUSDT"], started)
    assert [p for (p,) in progress] == ["BTCUSDT", "ETHUSDT"]
