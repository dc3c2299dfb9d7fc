"""Is a TCP port already served by someone?"""

from __future__ import annotations

import socket
import time


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_port_free(host: str, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while port_open(host, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
