"""A replication slot that is about to lose WAL, then has lost it, is reported loudly.

A throwaway PostgreSQL cluster (never the stack's: its slot must not be lost) with a
tiny max_slot_wal_keep_size, a logical slot nobody reads (Connect stopped) and WAL
written past the limit: `status` warns, then reports the loss with the recovery.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from binance_cdc.connect.connector import load_definition
from binance_cdc.observe.status import cdc_section
from binance_cdc.settings import Settings

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scratch_cluster(settings: Settings) -> Iterator[int]:
    """A fresh cluster on a free port (trust auth on 127.0.0.1); yields the port."""
    bin_dir = settings.postgres.bin_dir
    user = settings.postgres.os_user if os.geteuid() == 0 else None
    home = Path(tempfile.mkdtemp(prefix="slot-loss-"))
    home.chmod(0o755)  # the postgres account must reach its data directory
    data = home / "data"
    data.mkdir(mode=0o700)
    if user:
        entry = pwd.getpwnam(user)
        shutil.chown(data, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    process = None
    try:
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "--no-locale", "-E", "UTF8"], user=user, check=True,
                       capture_output=True, cwd=tempfile.gettempdir())
        process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
             "-c", "wal_level=logical", "-c", "max_slot_wal_keep_size=1MB",
             "-c", "min_wal_size=32MB", "-c", "max_wal_size=1GB"],  # no checkpoint of its own
            user=user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=tempfile.gettempdir())
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the scratch cluster did not start"
                time.sleep(0.2)
        yield port
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            process.wait(30)
        shutil.rmtree(home, ignore_errors=True)


def test_status_warns_before_the_slot_loses_wal_then_reports_the_loss(
        settings: Settings, scratch_cluster: int) -> None:
    admin = f"host=127.0.0.1 port={scratch_cluster} user=postgres dbname=postgres"
    pg = settings.postgres.model_copy(update={"port": scratch_cluster, "database": "postgres",
                                              "user": "postgres"})
    connect = settings.connect.model_copy(update={"port": _free_port()})  # Connect is stopped
    scratch = settings.model_copy(update={"postgres": pg, "connect": connect})
    slot = load_definition(scratch).slot_name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        # A 1 MB allowance is close to the limit from the start: warned early.
        early = cdc_section(scratch)
        assert not early.slot_lost and "close to its WAL limit" in (early.slot_risk or ""), early

        conn.execute("CREATE TABLE filler (t text)")
        for _ in range(2):  # two 16 MB segments past the slot, well over 1 MB
            conn.execute("INSERT INTO filler VALUES (repeat('x', 1000))")
            conn.execute("SELECT pg_switch_wal()")
        section = cdc_section(scratch)
        assert section.slot is not None and section.slot["wal_status"] == "unreserved", section
        assert not section.slot_lost and "checkpoint may remove WAL" in (section.slot_risk or "")

        conn.execute("CHECKPOINT")
        section = cdc_section(scratch)
    assert section.slot is not None and section.slot["wal_status"] == "lost", section
    assert section.slot_lost
    assert f"pg_drop_replication_slot('{slot}')" in (section.slot_risk or "")
    assert "binance-cdc connector snapshot TABLE" in (section.slot_risk or "")
    assert section.error is not None  # and Connect, stopped, is reported as such
