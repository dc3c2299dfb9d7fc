"""The launcher's process primitives, on real child processes."""

from __future__ import annotations

import sys
from pathlib import Path

from binance_cdc.stack import process
from binance_cdc.stack.process import PidFile


def test_a_spawned_process_is_recognised_by_its_pid_file_at_once(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker-arg")
    for _ in range(10):
        pid = process.spawn([sys.executable, "-c", "import time; time.sleep(5)", marker],
                            log_path=tmp_path / "out.log")
        pid_file = PidFile(tmp_path / "p.pid", marker=marker)
        pid_file.write(pid)
        try:
            assert pid_file.running_pid() == pid
        finally:
            process.terminate(pid, timeout_s=5)
        assert not process.is_alive(pid)
        assert pid_file.running_pid() is None
