"""The unprivileged OS account the JVM services run under when the launcher runs as root.

Kafka, Connect and Cassandra need no privilege: started by root they would own every
file they touch and anyone who took one over would own the machine. The launcher creates
a system account (no login shell, no home) once and hands each such service the files it
writes (its data directory and the log directory) before starting it.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from binance_cdc.errors import StackError

log = logging.getLogger(__name__)


def ensure_account(name: str) -> None:
    """Create the system account ``name`` (and its group) unless it exists."""
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(  # noqa: S603 - fixed arguments, a name from settings
        [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "binance-cdc services", name],
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"cannot create the OS account {name!r} the services run as: "
                         f"{result.stderr.strip()}; create it (useradd --system {name}) or set "
                         "STACK_OS_USER to an existing unprivileged account")
    log.info("created the system account %s for the services", name)


def hand_over(paths: list[Path], name: str) -> None:
    """Make ``name`` own ``paths`` and everything below them (created if missing)."""
    entry = pwd.getpwnam(name)
    for top in paths:
        top.mkdir(parents=True, exist_ok=True)
        for path in (top, *top.rglob("*")):
            try:
                os.lchown(path, entry.pw_uid, entry.pw_gid)
            except FileNotFoundError:  # removed while we walked (a rotated log)
                continue
