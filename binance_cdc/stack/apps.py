"""The project's own long-running processes (the stream job, the simulator),
started in the background with pid files like the services."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from binance_cdc.settings import Settings
from binance_cdc.stack import process
from binance_cdc.stack.process import PidFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackgroundApp:
    name: str
    argv: tuple[str, ...]
    run_dir: Path
    log_file: Path
    prepare: Callable[[], object] | None = None
    """Called before each start (e.g. write the properties file spark-submit reads)."""
    group: bool = False
    """Stop the whole process group (spark-submit's JVM and the Python driver it runs)."""

    @property
    def pid_file(self) -> PidFile:
        # The arguments after the program are the marker: a recycled pid will not carry them.
        return PidFile(self.run_dir / f"{self.name}.pid", marker=" ".join(self.argv[1:4]))

    def pid(self) -> int | None:
        return self.pid_file.running_pid()

    def start(self, env: dict[str, str] | None = None) -> int:
        """Start it unless it already runs; return its pid."""
        running = self.pid()
        if running is not None:
            return running
        if self.prepare is not None:
            self.prepare()
        pid = process.spawn(list(self.argv), log_path=self.log_file, env=env)
        self.pid_file.write(pid)
        log.info("%s started (pid %s, log %s)", self.name, pid, self.log_file)
        return pid

    def stop(self, timeout_s: float = 60.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        process.terminate(pid, timeout_s=timeout_s, group=self.group)
        self.pid_file.remove()
        log.info("%s stopped (pid %s)", self.name, pid)
        return True


def stream_app(settings: Settings, *, master: str | None = None) -> BackgroundApp:
    """The streaming job, started exactly as a user starts it (binance_cdc/stream/submit.py)."""
    from binance_cdc.stream.submit import command_argv, write_properties

    return BackgroundApp("stream", tuple(command_argv(settings, master=master)),
                         settings.stack.run_dir, settings.stack.logs_dir / "stream.log",
                         prepare=lambda: write_properties(settings), group=True)


def simulator_app(settings: Settings) -> BackgroundApp:
    return BackgroundApp("simulator", (sys.executable, "-m", "binance_cdc", "simulator",
                                       "--port", str(settings.simulator.port)),
                         settings.stack.run_dir, settings.stack.logs_dir / "simulator.log")


def live_trades_app(settings: Settings, symbols: list[str]) -> BackgroundApp:
    """The live trade writer on the simulator's streams (the demo's)."""
    return BackgroundApp("live-trades", (
        sys.executable, "-m", "binance_cdc", "trades", "live", "--base-url",
        settings.simulator.url, "--ws-url", settings.simulator.ws_url, "--symbols",
        ",".join(symbols)), settings.stack.run_dir, settings.stack.logs_dir / "live-trades.log")
