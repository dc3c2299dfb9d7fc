"""Who may log in to the local Postgres, and what the Debezium role may do (real server)."""

from __future__ import annotations

import stat
import subprocess
import uuid

import psycopg
import pytest

from binance_cdc.datasets import DATASETS
from binance_cdc.passwords import read
from binance_cdc.settings import PROJECT_ROOT, PostgresSettings, Settings
from tests.e2e.conftest import plain_env

pytestmark = pytest.mark.postgres


def _login(pg: PostgresSettings, user: str, password: str, **params: str) -> psycopg.Connection:
    return psycopg.connect(host=pg.host, port=pg.port, dbname=pg.database, user=user,
                           password=password, connect_timeout=5, autocommit=True, **params)


def test_no_role_has_a_default_password(settings: Settings) -> None:
    pg = settings.postgres
    for user, old in ((pg.admin_user, "postgres"), (pg.user, "binance"),
                      (pg.debezium_user, "debezium")):
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _login(pg, user, old)
    # The passwords that work are the generated ones, in a file only its owner reads.
    path = settings.stack.secrets_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read(path)["POSTGRES_ADMIN_PASSWORD"] == pg.admin_password.get_secret_value()
    with _login(pg, pg.admin_user, pg.admin_password.get_secret_value()) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (pg.admin_user,)


def test_only_the_projects_roles_log_in(settings: Settings) -> None:
    pg = settings.postgres
    role, password = f"r{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    with psycopg.connect(pg.dsn(admin=True), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        try:
            with pytest.raises(psycopg.OperationalError, match=r"no pg_hba\.conf entry"):
                _login(pg, role, password)
        finally:
            admin.execute(f"DROP ROLE {role}")


def test_debezium_streams_logically_but_cannot_copy_the_cluster(settings: Settings) -> None:
    pg = settings.postgres
    secret = pg.debezium_password.get_secret_value()
    # Physical replication (pg_basebackup's connection): no pg_hba line allows it.
    with pytest.raises(psycopg.OperationalError, match="replication connection"):
        _login(pg, pg.debezium_user, secret, replication="true")
    # Logical replication to its own database (what Debezium opens) is allowed.
    with _login(pg, pg.debezium_user, secret, replication="database") as conn:
        assert conn.info.status == psycopg.pq.ConnStatus.OK


def test_debezium_reads_only_the_published_tables(settings: Settings) -> None:
    pg = settings.postgres
    schema = pg.schema_name
    with _login(pg, pg.debezium_user, pg.debezium_password.get_secret_value()) as conn:
        for table in DATASETS:
            conn.execute(f"SELECT 1 FROM {schema}.{table} LIMIT 1")
        for table in ("extraction_runs", "live_trade_progress"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {schema}.{table} LIMIT 1")


def test_psql_gets_quotes_backslashes_and_newlines_intact(settings: Settings) -> None:
    from binance_cdc.postgres.schema import psql_login, psql_quote

    value = "it's a \\ back\\nslash\nand a line"
    argv, env = psql_login(settings.postgres)
    result = subprocess.run([*argv, "-X", "-At", "-v", "ON_ERROR_STOP=1"], env=env, text=True,
                            input=f"\\set v {psql_quote(value)}\nSELECT :'v';\n",
                            capture_output=True, timeout=30, check=True)
    assert result.stdout == value + "\n"


def test_the_readmes_psql_command_as_typed(settings: Settings) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    [start] = [i for i, line in enumerate(readme)
               if line.startswith('binance-cdc psql -c "INSERT INTO binance.debezium_signal')]
    command = "\n".join(readme[start:start + 2])  # the line and the one its backslash continues
    assert "incremental" in command and command.endswith("')\""), command
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute("DELETE FROM binance.debezium_signal WHERE id = 'snap-1'")
        try:
            result = subprocess.run(["bash", "-c", command], cwd=PROJECT_ROOT, env=plain_env(),
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            row = conn.execute("SELECT type, data FROM binance.debezium_signal "
                               "WHERE id = 'snap-1'").fetchone()
        finally:
            conn.execute("DELETE FROM binance.debezium_signal WHERE id = 'snap-1'")
    assert row is not None and row[0] == "execute-snapshot"
    assert '"binance.klines"' in row[1]
