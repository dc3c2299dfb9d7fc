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


def psql_quote(value: str) -> str:
    """``value`` as a single-quoted argument of a psql meta-command (``\\set name 'value'``)."""
    escaped = (value.replace("\\", "\\\\").replace("'", "''")
               .replace("\n", "\\n").replace("\r", "\\r"))
    return f"'{escaped}'"


def psql_invocation(pg: PostgresSettings, path: Path, *, as_admin: bool,
                    database: str) -> tuple[list[str], str, dict[str, str]]:
    """argv, stdin and environment that run ``path`` through psql.

    The variables (passwords among them) travel on stdin as ``\\set`` lines and the
    login password in the environment: a command line is readable by every user (ps).
    """
    argv, env = psql_login(pg, as_admin=as_admin, database=database)
    stdin = "".join(f"\\set {name} {psql_quote(value)}\n"
                    for name, value in psql_variables(pg).items())
    stdin += f"\\i {psql_quote(str(path))}\n"
    return [*argv, "-X", "-q", "-v", "ON_ERROR_STOP=1"], stdin, env


def psql_login(pg: PostgresSettings, *, as_admin: bool = False,
               database: str | None = None) -> tuple[list[str], dict[str, str]]:
    """psql's argv and environment to log in as the project's role (or the superuser).

    The password goes in the environment (PGPASSWORD), which only the same OS user may read.
    """
    user, password = ((pg.admin_user, pg.admin_password) if as_admin else (pg.user, pg.password))
    argv = [_psql(pg), "-h", pg.host, "-p", str(pg.port), "-U", user, "-d",
            database or pg.database]
    env = {**os.environ, "PGPASSWORD": password.get_secret_value(), "PGCONNECT_TIMEOUT": "5"}
    return argv, env


def run_sql_file(pg: PostgresSettings, path: Path, *, as_admin: bool, database: str) -> None:
    argv, stdin, env = psql_invocation(pg, path, as_admin=as_admin, database=database)
    result = subprocess.run(argv, input=stdin, env=env, capture_output=True,  # noqa: S603
                            text=True, check=False)
    if result.returncode != 0:
        user = pg.admin_user if as_admin else pg.user
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
