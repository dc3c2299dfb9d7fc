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


def slot_state(pg: PostgresSettings, slot_name: str) -> SlotState | None:
    """The slot's state, or None if no slot of that name exists (yet)."""
    with connect(pg) as conn:
        row = conn.execute(
            "SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn),"
            " confirmed_flush_lsn::text, wal_status FROM pg_replication_slots "
            "WHERE slot_name = %s", (slot_name,)).fetchone()
    if row is None:
        return None
    return SlotState(row[0], row[1], None if row[2] is None else int(row[2]), row[3], row[4])


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
