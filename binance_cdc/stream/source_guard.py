"""The Postgres the stream reads must be the one its Cassandra rows came from.

Every row is written with its change's LSN as write timestamp, so the newest
change wins. A Postgres that was rebuilt (initdb) or restored from a backup
numbers its WAL from a lower position: every change it sends would silently
lose to the rows already in Cassandra. The guard records, beside the
checkpoints (``SPARK_CHECKPOINT_DIR/source.json``), the source's system
identifier and the highest WAL position seen, and stops the job with the
recovery when either goes wrong: a different system identifier, or a WAL
position below one already seen.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from binance_cdc.errors import StreamError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import PostgresSettings, env_var_for

log = logging.getLogger(__name__)

SOURCE_FILE = "source.json"

RECOVERY = (
    "Its changes now carry lower LSNs than the rows already in Cassandra and would lose "
    "to them. If this is the wrong Postgres, point {host_vars} at the right one. To rebuild "
    "the replica from this one instead: `binance-cdc stop`, `binance-cdc connector delete`, "
    "delete the change topics and the checkpoints in {checkpoints}, DROP KEYSPACE {keyspace} "
    "in cqlsh, then `binance-cdc connector apply` (a new snapshot) and start the stream.")


class SourceGuard:
    """Checks the source's identity and WAL position against what the stream has seen."""

    def __init__(self, checkpoint_dir: Path, pg: PostgresSettings, keyspace: str) -> None:
        self.path = checkpoint_dir / SOURCE_FILE
        self.pg = pg
        self.keyspace = keyspace

    def check(self) -> None:
        """Raise :class:`StreamError` (not retryable) if the source went back; else record."""
        with connect(self.pg) as conn:
            row = conn.execute("SELECT system_identifier::text, "
                               "(pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint "
                               "FROM pg_control_system()").fetchone()
        assert row is not None
        system_id, position = str(row[0]), int(row[1])
        seen = self._recorded()
        where = f"PostgreSQL at {self.pg.host}:{self.pg.port}"
        if seen is not None and seen.get("system_identifier") != system_id:
            self._refuse(f"{where} is not the server this stream's checkpoints were made "
                         f"against (system identifier {system_id}, recorded "
                         f"{seen.get('system_identifier')}): it was rebuilt or replaced.")
        if seen is not None and position < int(seen.get("max_wal_position", 0)):
            self._refuse(f"{where} is at WAL position {position}, below the {seen['max_wal_position']} "
                         "this stream has already seen: it was restored from a backup.")
        if seen is None or position > int(seen.get("max_wal_position", 0)):
            self._record({"system_identifier": system_id, "max_wal_position": position})

    def _refuse(self, what: str) -> None:
        host_vars = "/".join(env_var_for("postgres", f) for f in ("host", "port"))
        raise StreamError(what + " " + RECOVERY.format(
            host_vars=host_vars, checkpoints=self.path.parent, keyspace=self.keyspace),
            retryable=False)

    def _recorded(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            log.warning("ignoring unreadable %s (%s); recording the source anew", self.path, exc)
            return None
        return data if isinstance(data, dict) else None

    def _record(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)
