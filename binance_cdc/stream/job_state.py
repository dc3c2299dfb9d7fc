"""What the stream job is doing, in a small file beside its checkpoints, for `status`.

The runner (binance_cdc/stream/runner.py) rewrites ``SPARK_CHECKPOINT_DIR/job.state``
whenever its state changes: running, restarting a query after failure N of
SPARK_MAX_RESTARTS (with the error), stopped or failed. The file alone cannot
tell a live job from one that was killed, so :func:`read_state` also checks
that the process that wrote it still runs; a job killed with -9 shows as
"stopped (died)" with the last state it wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

STATE_FILE = "job.state"

State = Literal["running", "restarting", "stopped", "failed"]


@dataclass
class QueryFailure:
    failures: int
    max_restarts: int
    last_error: str


@dataclass
class JobState:
    state: State
    pid: int
    started_at: str
    updated_at: str = ""
    failing: dict[str, QueryFailure] = field(default_factory=dict)
    """Queries restarting after failures, by table."""
    last_error: str | None = None
    alive: bool = True
    """Whether the process that wrote the state still runs (set by :func:`read_state`)."""

    def describe(self) -> str:
        """One line for `status`."""
        if not self.alive and self.state in ("running", "restarting"):
            return (f"STOPPED: the job (pid {self.pid}) died without stopping cleanly; its last "
                    f"state was {self.state} at {self.updated_at}"
                    + (f" ({self.last_error})" if self.last_error else ""))
        if self.state == "running":
            return f"running (pid {self.pid}, since {self.started_at})"
        if self.state == "restarting":
            parts = [f"{name} after failure {f.failures} of {f.max_restarts}: {f.last_error}"
                     for name, f in sorted(self.failing.items())]
            return f"RESTARTING (pid {self.pid}) " + "; ".join(parts)
        if self.state == "failed":
            return f"FAILED at {self.updated_at}: {self.last_error}"
        return f"stopped at {self.updated_at}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class StateFile:
    """Writes the job's state atomically (a reader never sees half a file)."""

    def __init__(self, checkpoint_dir: Path) -> None:
        self.path = checkpoint_dir / STATE_FILE
        self.state = JobState("running", os.getpid(), _now())

    def running(self) -> None:
        self.state.state = "running"
        self.state.failing.clear()
        self._write()

    def query_failed(self, name: str, failures: int, max_restarts: int, error: str) -> None:
        self.state.state = "restarting"
        self.state.failing[name] = QueryFailure(failures, max_restarts, error)
        self.state.last_error = f"{name}: {error}"
        self._write()

    def query_recovered(self, name: str) -> None:
        if self.state.failing.pop(name, None) is not None and not self.state.failing:
            self.state.state = "running"
            self._write()

    def finished(self, error: str | None) -> None:
        self.state.state = "failed" if error else "stopped"
        if error:
            self.state.last_error = error
        self._write()

    def _write(self) -> None:
        self.state.updated_at = _now()
        data = asdict(self.state)
        data.pop("alive")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def read_state(checkpoint_dir: Path) -> JobState | None:
    """The job's last written state (None if no job ever ran here), with ``alive`` set."""
    try:
        data = json.loads((checkpoint_dir / STATE_FILE).read_text(encoding="utf-8"))
        failing = {k: QueryFailure(**v) for k, v in data.pop("failing", {}).items()}
        state = JobState(**data, failing=failing)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        return JobState("failed", 0, "?", last_error=f"unreadable {STATE_FILE}: {exc}",
                        alive=False)
    state.alive = _runs(state.pid)
    return state


def _runs(pid: int) -> bool:
    """Whether ``pid`` is a live process that can be the stream job's driver."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # A recycled pid belongs to some other program.
    return b"spark_streaming" in cmdline or b"binance_cdc" in cmdline or b"binance-cdc" in cmdline
