"""One stream job per checkpoint directory.

Two jobs on the same checkpoints fail each other's micro-batches ("Concurrent
update to the log") and restart in a loop; a second job started by mistake
(a test's, the demo's) must instead fail at once and say which job holds them.
The lock is an flock on a file in the directory: the kernel releases it when the
holder exits, kill -9 included, so a crashed job never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from binance_cdc.errors import StreamError
from binance_cdc.settings import env_var_for

LOCK_FILE = "job.lock"


@contextmanager
def exclusive_checkpoints(checkpoint_dir: Path) -> Iterator[None]:
    """Hold the checkpoint directory for this process, or raise :class:`StreamError`."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    with open(checkpoint_dir / LOCK_FILE, "a+", encoding="ascii") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise StreamError(
                f"another stream job (pid {holder}) is using the checkpoints in {checkpoint_dir}; "
                "two jobs on one checkpoint fail each other's micro-batches. Stop that job "
                "first (`binance-cdc stop` stops the demo's), or give this one its own "
                f"{env_var_for('spark', 'checkpoint_dir')}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
