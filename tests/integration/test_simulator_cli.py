"""`binance-cdc simulator` as a process: serves REST and streams on the asked ports, takes faults,
stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from websockets.sync.client import connect

from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_simulator_process():
    port, ws_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "binance_cdc", "simulator", "--port",
                             str(port), "--ws-port", str(ws_port), "--seed", "5"], cwd=ROOT,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("the simulator", lambda: requests.get(url + "/api/v3/ping", timeout=1)
                 .raise_for_status(), timeout_s=20)
        info = requests.get(url + "/api/v3/exchangeInfo").json()
        assert "币安人生USDT" in [s["symbol"] for s in info["symbols"]]
        requests.post(url + "/sim/faults", json={"kind": "429", "retry_after": 2})
        limited = requests.get(url + "/api/v3/time")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
        with connect(f"ws://127.0.0.1:{ws_port}/stream?streams=btcusdt@trade") as ws:
            event = json.loads(ws.recv(timeout=10))  # BTCUSDT trades about 12 times a second
        assert event["stream"] == "btcusdt@trade" and event["data"]["s"] == "BTCUSDT"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"listening on {url} and ws://127.0.0.1:{ws_port}" in err
