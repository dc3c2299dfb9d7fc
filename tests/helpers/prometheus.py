"""A throw-away Prometheus started by the launcher, and the project's metric endpoints as
processes, for tests that watch metrics and alerts on the real services.

The Prometheus of these tests scrapes and evaluates every second (the stack's own one
every 15 s), so an alert test takes seconds; its rules are the repository's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import requests

from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.stack.launcher import Stack

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def override(settings: Settings, **sections: dict[str, Any]) -> Settings:
    """``settings`` with some fields of some sections replaced."""
    return settings.model_copy(update={
        name: getattr(settings, name).model_copy(update=fields) for name, fields in sections.items()})


class PrometheusApi:
    def __init__(self, url: str) -> None:
        self.url = url

    def _get(self, path: str, **params: str) -> Any:
        body = requests.get(f"{self.url}{path}", params=params, timeout=10).json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self._get("/api/v1/query", query=expr)["result"]

    def alerts(self, name: str, state: str = "firing") -> list[dict]:
        return [a for a in self._get("/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == name and a["state"] == state]

    def targets(self) -> dict[str, dict]:
        return {t["labels"]["job"]: t for t in self._get("/api/v1/targets", state="active")
                ["activeTargets"]}


def eventually(what: str, check: Callable[[], T | None], timeout_s: float,
               explain: Callable[[], str] = lambda: "") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``explain()`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f}s. {explain()}"
        time.sleep(0.5)


@contextlib.contextmanager
def fast_prometheus(settings: Settings, home: Path) -> Iterator[PrometheusApi]:
    """The launcher's Prometheus with its own STACK_HOME and port, scraping every second,
    and the targets and thresholds of ``settings``."""
    settings = override(settings, stack={"home": home},
                        prometheus={"port": free_port(), "scrape_interval_s": 1.0,
                                    "evaluation_interval_s": 1.0})
    stack = Stack(settings)
    stack.up(["prometheus"])
    try:
        yield PrometheusApi(settings.prometheus.url)
    finally:
        stack.down(["prometheus"])


@contextlib.contextmanager
def background(argv: list[str], log_path: Path, base_env: dict[str, str] | None = None,
               **env: str) -> Iterator[subprocess.Popen]:
    """A project command as a user runs it (from the project root), stopped by SIGTERM.

    Its environment is ``base_env`` (default: this process's) plus ``env``."""
    base = dict(os.environ) if base_env is None else base_env
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env={**base, **env}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def scrape(port: int) -> str:
    """The text of http://127.0.0.1:port/metrics (raises until it answers)."""
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return response.text


@contextlib.contextmanager
def exporter_process(log_path: Path, base_env: dict[str, str] | None = None,
                     **env: str) -> Iterator[int]:
    """`binance-cdc exporter` on a free port; yields the port once it serves."""
    port = free_port()
    with background([sys.executable, "-m", "binance_cdc", "exporter", "--port", str(port)],
                    log_path, base_env, **env) as proc:
        eventually("the exporter serves /metrics", lambda: _answers(proc, port), 60,
                   lambda: log_path.read_text(errors="replace")[-2000:])
        yield port


def _answers(proc: subprocess.Popen, port: int) -> bool:
    assert proc.poll() is None, f"exited with {proc.returncode}"
    try:
        return "binance_cdc_exporter_backend_up" in scrape(port)
    except requests.RequestException:
        return False


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name{labels}`` in exposition ``text`` (None if absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None
