"""The Postgres side of CDC: the replication slot's lag and Debezium signals."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from binance_cdc.datasets import DATASETS
from binance_cdc.errors import ConfigError, StoreError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import PostgresSettings

if TYPE_CHECKING:
    import psycopg

SIGNAL_TABLE = "debezium_signal"


@dataclass(frozen=True)
class SlotState:
    name: str
    active: bool
    lag_bytes: int | None
    """WAL the slot still holds back: current WAL LSN minus its confirmed flush LSN."""
    confirmed_flush_lsn: str | None
    wal_status: str | None
    """reserved, extended, unreserved (the next checkpoint may remove WAL it needs) or lost."""
    safe_wal_size: int | None = None
    """WAL that can still be written before the slot is in danger of losing what it needs
    (None: no max_slot_wal_keep_size limit)."""

    def risk(self) -> tuple[str, str] | None:
        """("warning" | "lost", why and what to do), or None while the slot is safe."""
        if self.wal_status == "lost":
            return "lost", (
                "the slot lost WAL Debezium had not read (max_slot_wal_keep_size): changes "
                "since then are missing and the connector cannot resume. Recover: "
                "`binance-cdc connector delete`, `SELECT pg_drop_replication_slot("
                f"'{self.name}')` in Postgres, `binance-cdc connector apply`, then rebuild each "
                "table: TRUNCATE it in Cassandra and `binance-cdc connector snapshot TABLE`")
        if self.wal_status == "unreserved":
            return "warning", (
                "the slot holds more WAL than max_slot_wal_keep_size allows: the next "
                "checkpoint may remove WAL Debezium has not read; get the connector running "
                "(`binance-cdc connector status`)")
        if self.wal_status == "extended" or (self.safe_wal_size is not None
                                             and self.safe_wal_size < SAFE_WAL_WARN_BYTES):
            return "warning", (
                f"the slot is close to its WAL limit ({_mib(self.safe_wal_size)} left before it "
                "is in danger); is the connector running? (`binance-cdc connector status`)")
        return None


SAFE_WAL_WARN_BYTES = 256 * 2**20
"""Warn while less than this much WAL can be written before the slot is in danger."""


def _mib(size: int | None) -> str:
    return "?" if size is None else f"{size / 2**20:,.0f} MiB"


def slot_state(pg: PostgresSettings, slot_name: str) -> SlotState | None:
    """The slot's state, or None if no slot of that name exists (yet)."""
    with connect(pg) as conn:
        row = conn.execute(
            "SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn),"
            " confirmed_flush_lsn::text, wal_status, safe_wal_size FROM pg_replication_slots "
            "WHERE slot_name = %s", (slot_name,)).fetchone()
    if row is None:
        return None
    return SlotState(row[0], row[1], None if row[2] is None else int(row[2]), row[3], row[4],
                     None if row[5] is None else int(row[5]))


def request_incremental_snapshot(pg: PostgresSettings, table: str) -> str:
    """Insert the signal that makes Debezium re-read ``table``; return the signal id."""
    if table not in DATASETS:
        raise ConfigError(f"cannot snapshot {table!r}: expected one of {', '.join(DATASETS)}")
    signal_id = f"snapshot-{uuid.uuid4()}"
    data = json.dumps({"data-collections": [f"{pg.schema_name}.{table}"], "type": "incremental"})
    with connect(pg) as conn:
        conn.execute(f"INSERT INTO {pg.schema_name}.{SIGNAL_TABLE} (id, type, data) "
                     "VALUES (%s, 'execute-snapshot', %s)", (signal_id, data))
    return signal_id


class WalPosition:
    """The source's current WAL position (``pg_current_wal_lsn()``) as Debezium numbers LSNs.

    The stream checks every change's LSN against it: a change cannot come from
    beyond the position Postgres has reached, so an LSN above it is forged, or
    from another (rebuilt) Postgres. Read once per micro-batch, after Spark
    fixed the batch's offsets, so every real change of the batch is below it.
    One connection, shared by the queries' threads.
    """

    def __init__(self, pg: PostgresSettings) -> None:
        self.pg = pg
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def current(self) -> int:
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = connect(self.pg)
                    row = self._conn.execute(
                        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").fetchone()
                    assert row is not None  # a SELECT without FROM: always one row
                    return int(row[0])
                except (psycopg.Error, StoreError) as exc:
                    self.close_unlocked()
                    if attempt == 2:
                        raise StoreError(
                            f"cannot read the current WAL position of PostgreSQL at "
                            f"{self.pg.host}:{self.pg.port} ({exc}); the stream needs it to "
                            "check change LSNs and waits for Postgres", retryable=True) from exc
        raise AssertionError("unreachable")

    def close_unlocked(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self.close_unlocked()
