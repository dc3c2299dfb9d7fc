"""Starting, finding and stopping the processes the launcher owns.

Every service we start gets a pid file; a pid counts as ours only while its
command line still contains the service's marker (its config path under the
stack home), so a recycled pid is never signalled. Nothing here kills by name.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PidFile:
    path: Path
    marker: str
    """A string the process's command line must contain for the pid to be ours."""

    def read(self) -> int | None:
        try:
            return int(self.path.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid}\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def running_pid(self) -> int | None:
        """The pid if that process is alive and still ours, else None (and the file goes)."""
        pid = self.read()
        if pid is None:
            return None
        if is_alive(pid) and self.marker in cmdline(pid):
            return pid
        self.remove()
        return None


def _reap(pid: int) -> None:
    # A service spawned by this very process (tests call the launcher in-process)
    # stays a zombie until waited for.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def is_alive(pid: int) -> bool:
    """True while any thread of the process still runs.

    A killed JVM's main thread turns zombie before its other threads finish
    exiting and release the ports, so the leader's state alone is not enough.
    """
    _reap(pid)
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return any(_task_state(pid, task) not in ("Z", "X", "") for task in tasks)


def _task_state(pid: int, task: str) -> str:
    try:
        with open(f"/proc/{pid}/task/{task}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def spawn(argv: list[str], *, log_path: Path, env: dict[str, str] | None = None,
          user: str | None = None) -> int:
    """Start ``argv`` detached (own session), output appended to ``log_path``; return its pid.

    ``user`` runs it under another account through setpriv, which execs rather
    than forks, so the pid we record is the service's own.
    """
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv]
        argv[0] = shutil.which("setpriv") or argv[0]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    try:
        pid = os.posix_spawnp(argv[0], argv, dict(os.environ if env is None else env), setsid=True,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                                           (os.POSIX_SPAWN_DUP2, fd, 1),
                                           (os.POSIX_SPAWN_DUP2, fd, 2)])
    finally:
        os.close(fd)
    _wait_exec(pid, argv[-1])
    log.debug("spawned pid %s: %s", pid, argv[0])
    return pid


def _wait_exec(pid: int, last_arg: str, timeout_s: float = 5.0) -> None:
    """Return once the child runs the new program (or died).

    posix_spawn may return while the child still runs our own image, whose
    command line is empty: a pid-file check in that window would take the new
    service for a stranger.
    """
    deadline = time.monotonic() + timeout_s
    while last_arg not in cmdline(pid) and is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def terminate(pid: int, *, timeout_s: float, sig: int = signal.SIGTERM,
              group: bool = False) -> bool:
    """Send ``sig``, wait up to ``timeout_s`` for exit, then SIGKILL. True if it had to be killed.

    ``group`` signals the process group ``pid`` leads (spawn starts every process in
    a session of its own): a spark-submit JVM and the Python driver it runs.
    """
    send = os.killpg if group else os.kill
    try:
        send(pid, sig)
    except ProcessLookupError:
        return False
    if wait_exit(pid, timeout_s):
        return False
    log.warning("pid %s did not exit within %.0fs; sending SIGKILL", pid, timeout_s)
    try:
        send(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    wait_exit(pid, 10.0)
    return True


def wait_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
