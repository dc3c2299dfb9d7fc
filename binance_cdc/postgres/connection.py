"""Opening a PostgreSQL connection: the one place a refused connection becomes a StoreError.

Every module that talks to Postgres opens its connections with :func:`connect`, so a
server that is down, a wrong port and a wrong password read the same everywhere and
say what to check. Errors of statements on an open connection stay with the caller,
which knows what it was doing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from binance_cdc.errors import StoreError
from binance_cdc.settings import PostgresSettings, env_var_for

if TYPE_CHECKING:
    import psycopg

# libpq's words for a server that answered and refused us: waiting does not help.
REFUSALS = ("password authentication failed", "no password supplied", "does not exist")


def connect(pg: PostgresSettings, *, autocommit: bool = True, admin: bool = False,
            database: str | None = None) -> psycopg.Connection[Any]:
    """A new connection to ``pg``'s database (``database``; as the superuser with ``admin``).

    Raises :class:`StoreError`: retryable when the server could not be reached, not when it
    rejected the role, the password or the database.
    """
    import psycopg

    user = pg.admin_user if admin else pg.user
    try:
        return psycopg.connect(pg.dsn(admin=admin, database=database), autocommit=autocommit)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        where = f"PostgreSQL at {pg.host}:{pg.port} (user {user}, database {database or pg.database})"
        if any(refusal in reason for refusal in REFUSALS):
            fields = ("admin_user", "admin_password") if admin else ("user", "password")
            names = "/".join(env_var_for("postgres", f)
                             for f in (*fields, *(() if database else ("database",))))
            raise StoreError(f"{where} refused the connection: {reason}; check {names}",
                             retryable=False) from exc
        hosts = "/".join(env_var_for("postgres", f) for f in ("host", "port"))
        raise StoreError(f"cannot connect to {where}: {reason}; is it running? (`binance-cdc stack "
                         f"status` tells, `binance-cdc stack up` starts it; {hosts} say where it is)",
                         retryable=True) from exc
