"""PostgreSQL 15 from Debian's packages, as the project's own cluster."""

from __future__ import annotations

import getpass
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from pydantic import SecretStr

from binance_cdc.errors import ServiceStartError, StackError, StoreError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import PROJECT_ROOT, PostgresSettings
from binance_cdc.stack.services.base import Port, Service

log = logging.getLogger(__name__)

CONF_FILE = PROJECT_ROOT / "sql" / "postgresql.conf"

# What clusters made by earlier versions of binance-cdc had for the superuser.
LEGACY_ADMIN_PASSWORD = "postgres"  # noqa: S105 - a password we replace, not one we use


def hba_conf(pg: PostgresSettings) -> str:
    """pg_hba.conf: the project's three roles, over TCP from this host, with their passwords.

    No other role logs in, and no line allows physical replication: the Debezium role
    (REPLICATION, for its logical slot) connects to its database like any client and could
    otherwise copy the whole cluster with pg_basebackup.
    """
    lines = ["# Written by binance-cdc at every start (binance_cdc/stack/services/postgres.py).",
             "# TYPE  DATABASE  USER  ADDRESS  METHOD"]
    for database, user in (("all", pg.admin_user), ("all", pg.user),
                           (_quoted(pg.database), pg.debezium_user)):
        lines.append(f"host    {database}  {_quoted(user)}  samehost  scram-sha-256")
    return "\n".join(lines) + "\n"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresService(Service):
    name = "postgres"
    settings_section = "postgres"

    @property
    def pg(self) -> PostgresSettings:
        return self.settings.postgres

    @property
    def marker(self) -> str:
        return str(self.data_dir)

    @property
    def log_file(self) -> Path:
        return self.console_file

    def ports(self) -> list[Port]:
        return [self.port("port")]

    # SIGTERM is Postgres' "smart" shutdown, which waits for every client to leave;
    # SIGINT is the "fast" one: clients are disconnected, the data is flushed.
    stop_signal = signal.SIGINT

    def run_as(self) -> str | None:
        # initdb and postgres refuse to run as root.
        return self.pg.os_user if os.geteuid() == 0 else None

    def _binary(self, name: str) -> str:
        path = self.pg.bin_dir / name
        if not path.exists():
            raise StackError(
                f"{path} not found; install PostgreSQL 15 (apt-get install postgresql-15) "
                "or set POSTGRES_BIN_DIR")
        return str(path)

    def prepare(self) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._write_hba()

    def _write_hba(self) -> None:
        """Who may log in, rewritten at every start so that older clusters converge too."""
        path = self.data_dir / "pg_hba.conf"
        path.write_text(hba_conf(self.pg), encoding="utf-8")
        os.chmod(path, 0o600)
        user = self.run_as()
        if user:
            shutil.chown(path, user)

    def _initdb(self) -> None:
        if not self.pg.admin_password.get_secret_value():
            raise StackError("POSTGRES_ADMIN_PASSWORD is empty: unset it to have one generated "
                             f"into {self.settings.stack.secrets_file}, or set a real one")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        user = self.run_as()
        if user:
            entry = pwd.getpwnam(user)
            shutil.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as pwfile:
            pwfile.write(self.pg.admin_password.get_secret_value() + "\n")
        try:
            if user:
                shutil.chown(pwfile.name, user)
            result = subprocess.run(  # noqa: S603
                [self._binary("initdb"), "-D", str(self.data_dir), "-U", self.pg.admin_user,
                 f"--pwfile={pwfile.name}", "--auth-host=scram-sha-256", "--auth-local=peer",
                 "-E", "UTF8", "--no-locale"],
                user=user, capture_output=True, text=True, check=False,
                cwd=tempfile.gettempdir())
        finally:
            Path(pwfile.name).unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise ServiceStartError(
                "postgres", f"initdb failed: {result.stderr.strip().splitlines()[-1:]} "
                f"(the OS user {user or getpass.getuser()!r} must be able to reach {self.data_dir})")
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\n# binance-cdc settings\ninclude '{CONF_FILE}'\n")

    def argv(self) -> list[str]:
        return [self._binary("postgres"), "-D", str(self.data_dir), "-p", str(self.pg.port),
                "-c", f"listen_addresses={self.pg.host}", "-c", "unix_socket_directories="]

    def probe(self) -> str:
        try:
            conn = connect(self.pg, admin=True, database="postgres", autocommit=False)
        except StoreError as exc:
            if exc.retryable or not self._adopt_admin_password():
                raise
            conn = connect(self.pg, admin=True, database="postgres", autocommit=False)
        with conn:
            [(version, wal_level)] = conn.execute(
                "SELECT current_setting('server_version'), current_setting('wal_level')").fetchall()
        if wal_level != "logical":
            raise ServiceStartError("postgres", f"wal_level is {wal_level}, expected logical",
                                    str(self.log_file))
        return f"PostgreSQL {version}, wal_level={wal_level}"

    def _adopt_admin_password(self) -> bool:
        """A cluster made before passwords were generated still has the old fixed one: replace it."""
        from psycopg import sql

        legacy = self.pg.model_copy(update={"admin_password": SecretStr(LEGACY_ADMIN_PASSWORD)})
        try:
            conn = connect(legacy, admin=True, database="postgres")
        except StoreError:
            return False
        with conn:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(self.pg.admin_user),
                sql.Literal(self.pg.admin_password.get_secret_value())))
        log.warning("postgres: the superuser %s had the old default password; it now has the "
                    "one in %s", self.pg.admin_user, self.settings.stack.secrets_file)
        return True

    def after_ready(self) -> None:
        from binance_cdc.postgres.schema import apply_sql

        apply_sql(self.settings.postgres)
