"""What each service of the stack listens on (its declared ports, on 127.0.0.1, nothing else:
no JMX port without a password, no admin plane on another interface; read from /proc) and
which account its JVM runs as."""

from __future__ import annotations

import os
import pwd
import subprocess
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

import pytest

from binance_cdc.settings import Settings
from binance_cdc.stack.launcher import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect, pytest.mark.cassandra]

LISTEN = "0A"


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def _address(hex_address: str) -> IPv4Address | IPv6Address:
    # /proc prints an address as 32-bit words in the host's (little-endian) byte order.
    raw = bytes.fromhex(hex_address)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ip_address(raw)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a Java socket
    return mapped or address


def listening(pid: int) -> set[tuple[IPv4Address | IPv6Address, int]]:
    """(address, port) of every TCP socket ``pid`` listens on."""
    inodes = _socket_inodes(pid)
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and inode in inodes:
                address, port = local.split(":")
                found.add((_address(address), int(port, 16)))
    return found


@pytest.mark.parametrize("name", ["postgres", "kafka", "connect", "cassandra"])
def test_a_service_listens_only_on_its_declared_loopback_ports(settings: Settings,
                                                               name: str) -> None:
    service = Stack(settings).services[name]
    pid = service.pid_file.running_pid()
    assert pid is not None, f"{name} is not running (`binance-cdc stack up`)"
    declared = {port.port for port in service.ports()}
    found = listening(pid)
    assert {port for _, port in found} == declared, (name, [(str(a), p) for a, p in found], sorted(declared))
    assert all(address.is_loopback for address, _ in found), (name, [(str(a), p) for a, p in found])
    if name == "cassandra":
        assert settings.cassandra.jmx_port == 0 and 7199 not in {p for _, p in found}


@pytest.mark.parametrize("name", ["kafka", "connect", "cassandra"])
def test_no_service_jvm_runs_as_root(settings: Settings, name: str) -> None:
    pid = Stack(settings).services[name].pid_file.running_pid()
    assert pid is not None, f"{name} is not running (`binance-cdc stack up`)"
    owner = subprocess.run(["ps", "-o", "user=", "-p", str(pid)], capture_output=True, text=True,
                           check=True, timeout=10).stdout.strip()
    # Started by root (as CI does), the JVMs run as the project's own unprivileged account.
    expected = settings.stack.os_user if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    assert owner == expected != "root", (name, owner)
