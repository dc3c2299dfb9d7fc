"""The entry points: `python extraction_script.py` and `binance-cdc extract` as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from binance_cdc.binance.simulator.faults import Fault

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def extract(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "extraction_script.py", *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_once_runs_one_cycle_and_prints_a_summary_per_dataset(sim, sim_clock, sym, db):
    sim_clock.advance(3)
    proc = extract("--once", "--base-url", sim.url,
                   "--symbols", f"{sym('BTCUSDT')},{sym('币安人生USDT')},MATICUSDT")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    for dataset in ("recent_trades", "order_book", "klines", "daily_ticker", "latest_prices"):
        line = next(line for line in err.splitlines() if f" {dataset} " in line)
        for key in ("inserted=", "updated=", "deleted=", "requests=", "weight=", "duration="):
            assert key in line
    assert "MATICUSDT" in err
    assert db.count("latest_prices", [sym("BTCUSDT"), sym("币安人生USDT")]) == 2


def test_once_exits_non_zero_when_a_dataset_failed(sim, sym):
    sim.faults.add(Fault("malformed", path="/api/v3/depth"))
    proc = extract("--once", "--base-url", sim.url, "--symbols", sym("BTCUSDT"),
                   "--datasets", "order_book,latest_prices")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "order_book    failed" in err and "latest_prices ok" in err


def test_418_exits_with_a_clear_message(sim, sym):
    sim.faults.add(Fault("418", retry_after=300, times=None))
    proc = extract("--once", "--base-url", sim.url, "--symbols", sym("BTCUSDT"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "error:" in err and "banned this IP (HTTP 418)" in err
    assert sum(sim.requests.values()) == 1  # stopped calling at once


def test_sigterm_stops_the_schedule_after_the_current_dataset(sim, sym):
    proc = extract("--base-url", sim.url, "--symbols", sym("BTCUSDT"),
                   env={"EXTRACT_PRICES_INTERVAL_S": "0.2"})
    deadline = time.monotonic() + 30
    seen = []
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if sum(" latest_prices " in s for s in seen) >= 3:  # it keeps polling on schedule
            break
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=15)
    assert proc.returncode == 0, "".join(seen) + rest
    assert "stopping after the current dataset" in rest
    assert "extractor stopped" in rest


def test_cli_subcommand_is_the_same(sim, sym):
    proc = subprocess.run([sys.executable, "-m", "binance_cdc", "extract", "--once",
                           "--base-url", sim.url, "--symbols", sym("ETHUSDT"),
                           "--datasets", "latest_prices"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "latest_prices ok" in proc.stderr
