"""The Postgres side of CDC: the replication slot's lag and Debezium signals."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from binance_cdc.datasets import DATASETS
from binance_cdc.errors import ConfigError, StoreError
from binance_cdc.settings import PostgresSettings

SIGNAL_TABLE = "debezium_signal"


@dataclass(frozen=True)
class SlotState:
    name: str
    active: bool
    lag_bytes: int | None
    """WAL the slot still holds back: current WAL LSN minus its confirmed flush LSN."""
    confirmed_flush_lsn: str | None
    wal_status: str | None


def _connect(pg: PostgresSettings):  # noqa: ANN202
    import psycopg

    try:
        return psycopg.connect(pg.dsn(), autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to PostgreSQL at {pg.host}:{pg.port} as {pg.user}: "
                         f"{exc}".strip(), retryable=True) from exc


def slot_state(pg: PostgresSettings, slot_name: str) -> SlotState | None:
    """The slot's state, or None if no slot of that name exists (yet)."""
    with _connect(pg) as conn:
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
    with _connect(pg) as conn:
        conn.execute(f"INSERT INTO {pg.schema_name}.{SIGNAL_TABLE} (id, type, data) "  # noqa: S608
                     "VALUES (%s, 'execute-snapshot', %s)", (signal_id, data))
    return signal_id
