"""PostgreSQL 15 from Debian's packages, as the project's own cluster."""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from binance_cdc.errors import ServiceStartError, StackError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import PROJECT_ROOT, PostgresSettings
from binance_cdc.stack.services.base import Port, Service

CONF_FILE = PROJECT_ROOT / "sql" / "postgresql.conf"


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
        if (self.data_dir / "PG_VERSION").exists():
            return
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
        with connect(self.pg, admin=True, database="postgres", autocommit=False) as conn:
            [(version, wal_level)] = conn.execute(
                "SELECT current_setting('server_version'), current_setting('wal_level')").fetchall()
        if wal_level != "logical":
            raise ServiceStartError("postgres", f"wal_level is {wal_level}, expected logical",
                                    str(self.log_file))
        return f"PostgreSQL {version}, wal_level={wal_level}"

    def after_ready(self) -> None:
        from binance_cdc.postgres.schema import apply_sql

        apply_sql(self.settings.postgres)
