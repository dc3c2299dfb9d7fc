"""The stream job's state file: what `status` says of a running, restarting, stopped,
failed or killed job."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from binance_cdc.stream.job_state import STATE_FILE, StateFile, read_state


def _as_if_written_by(path: Path, pid: int) -> None:
    text = (path / STATE_FILE).read_text()
    (path / STATE_FILE).write_text(text.replace(f'"pid": {StateFile(path).state.pid}',
                                                f'"pid": {pid}'))


def _started(argv: list[str]) -> subprocess.Popen:
    """A process whose command line is already its own (right after fork it is ours)."""
    job = subprocess.Popen(argv)
    deadline = time.monotonic() + 10
    while argv[-1].encode() not in Path(f"/proc/{job.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return job


def test_a_running_job_then_a_restarting_query_then_recovery_then_stop(tmp_path: Path) -> None:
    job = _started([sys.executable, "-c", "import time; time.sleep(60)", "binance_cdc"])
    try:
        state = StateFile(tmp_path)
        state.running()
        _as_if_written_by(tmp_path, job.pid)
        seen = read_state(tmp_path)
        assert seen is not None and seen.alive
        assert seen.describe().startswith(f"running (pid {job.pid}, since ")

        state.query_failed("recent_trades", 3, 100, "Cassandra is not available")
        _as_if_written_by(tmp_path, job.pid)
        seen = read_state(tmp_path)
        assert seen is not None
        assert seen.describe() == (f"RESTARTING (pid {job.pid}) recent_trades after failure 3 "
                                   "of 100: Cassandra is not available")

        state.query_recovered("recent_trades")
        _as_if_written_by(tmp_path, job.pid)
        seen = read_state(tmp_path)
        assert seen is not None and seen.state == "running"
    finally:
        job.kill()
        job.wait()
    # Killed with -9 while it said "running": the file is not believed.
    seen = read_state(tmp_path)
    assert seen is not None and not seen.alive
    assert seen.describe().startswith("STOPPED: the job (pid ")

    state.finished(None)
    seen = read_state(tmp_path)
    assert seen is not None and seen.describe().startswith("stopped at ")
    state.finished("the recent_trades query failed 101 times in a row")
    seen = read_state(tmp_path)
    assert seen is not None and seen.describe().startswith("FAILED at ")
    assert "101 times" in seen.describe()


def test_no_state_file_and_an_unreadable_one(tmp_path: Path) -> None:
    assert read_state(tmp_path) is None
    (tmp_path / STATE_FILE).write_text("{not json")
    seen = read_state(tmp_path)
    assert seen is not None and "unreadable job.state" in seen.describe()
