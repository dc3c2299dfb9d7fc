"""Apply the SQL files in sql/ to the cluster, in order, idempotently.

The files use psql variables (``:'app_user'``) and ``\\gexec``, so they run
through psql itself: the same files work in the docker image's init script.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from binance_cdc.errors import StoreError
from binance_cdc.settings import PROJECT_ROOT, PostgresSettings

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_ROOT / "sql"


@dataclass(frozen=True)
class SqlStep:
    file: str
    as_admin: bool
    """Roles and databases need the superuser; everything else runs as the owner."""
    on_app_database: bool


STEPS = (
    SqlStep("01_roles.sql", as_admin=True, on_app_database=False),
    SqlStep("02_schema.sql", as_admin=False, on_app_database=True),
    SqlStep("03_replication.sql", as_admin=False, on_app_database=True),
    SqlStep("04_live_trades.sql", as_admin=False, on_app_database=True),
)


def _psql(pg: PostgresSettings) -> str:
    candidate = pg.bin_dir / "psql"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("psql")
    if not found:
        raise StoreError("psql not found; install postgresql-client-15 or set POSTGRES_BIN_DIR")
    return found


def psql_variables(pg: PostgresSettings) -> dict[str, str]:
    return {
        "app_user": pg.user,
        "app_password": pg.password.get_secret_value(),
        "debezium_user": pg.debezium_user,
        "debezium_password": pg.debezium_password.get_secret_value(),
        "database": pg.database,
        "schema": pg.schema_name,
    }


def run_sql_file(pg: PostgresSettings, path: Path, *, as_admin: bool, database: str) -> None:
    user, password = ((pg.admin_user, pg.admin_password) if as_admin else (pg.user, pg.password))
    argv = [_psql(pg), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.host, "-p", str(pg.port),
            "-U", user, "-d", database, "-f", str(path)]
    for name, value in psql_variables(pg).items():
        argv += ["-v", f"{name}={value}"]
    env = {**os.environ, "PGPASSWORD": password.get_secret_value(), "PGCONNECT_TIMEOUT": "5"}
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise StoreError(f"{path.name} failed as {user} on {database}: {result.stderr.strip()}")


def apply_sql(pg: PostgresSettings) -> None:
    """Create roles, the database, the schema and the replication objects (idempotent)."""
    for step in STEPS:
        path = SQL_DIR / step.file
        if not path.exists():
            continue
        database = pg.database if step.on_app_database else "postgres"
        run_sql_file(pg, path, as_admin=step.as_admin, database=database)
        log.debug("applied %s", step.file)
    log.info("PostgreSQL schema %s applied in database %s", pg.schema_name, pg.database)
