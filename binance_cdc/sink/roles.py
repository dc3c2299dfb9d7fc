"""Cassandra's roles: the stream's role may read and write the project's keyspace, nothing else.

The node runs PasswordAuthenticator and CassandraAuthorizer (cassandra/cassandra.yaml); the
launcher replaces the default superuser with CASSANDRA_ADMIN_USER, and everything that
changes the schema logs in as that one. The stream, verify, the exporter and cqlsh log in as
CASSANDRA_USER, which this module creates and grants SELECT and MODIFY on the keyspace.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from binance_cdc.errors import CassandraLoginError
from binance_cdc.settings import CassandraSettings
from binance_cdc.sink.connection import cassandra_session

if TYPE_CHECKING:
    from cassandra.cluster import Session

log = logging.getLogger(__name__)

# What the stream's role may do on its keyspace: read rows, write and delete them.
STREAM_PERMISSIONS = ("SELECT", "MODIFY")


def cql_name(name: str) -> str:
    """A quoted CQL identifier (role and keyspace names keep their case)."""
    return '"' + name.replace('"', '""') + '"'


def cql_string(value: str) -> str:
    """A CQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ensure_stream_role(cass: CassandraSettings) -> None:
    """CASSANDRA_USER exists with CASSANDRA_PASSWORD and its grants on the keyspace (if made)."""
    role, password = cql_name(cass.user), cql_string(cass.password.get_secret_value())
    with cassandra_session(cass, timeout_s=10, admin=True) as session:
        if not role_exists(session, cass.user):
            session.execute(f"CREATE ROLE {role} WITH LOGIN = true AND PASSWORD = {password}",
                            timeout=30)
        elif not can_log_in(cass):
            # Made with another password (the settings changed). Only then: Cassandra
            # refuses a second password change within a few seconds.
            session.execute(f"ALTER ROLE {role} WITH PASSWORD = {password}", timeout=30)
        exists = session.execute("SELECT keyspace_name FROM system_schema.keyspaces WHERE "
                                 "keyspace_name = %s", (cass.keyspace,)).one()
        if exists:
            grant_keyspace(session, cass)


def drop_role(cass: CassandraSettings, name: str) -> bool:
    """Drop role ``name`` (logged in as the superuser); False if there was none."""
    with cassandra_session(cass, timeout_s=10, admin=True) as session:
        if not role_exists(session, name):
            return False
        session.execute(f"DROP ROLE {cql_name(name)}", timeout=30)
    return True


def role_exists(session: Session, name: str) -> bool:
    return session.execute("SELECT role FROM system_auth.roles WHERE role = %s",
                           (name,)).one() is not None


def can_log_in(cass: CassandraSettings) -> bool:
    """Whether CASSANDRA_USER logs in with CASSANDRA_PASSWORD."""
    try:
        with cassandra_session(cass, timeout_s=10):
            return True
    except CassandraLoginError:
        return False


def grant_keyspace(session: Session, cass: CassandraSettings) -> None:
    """Grant the stream's role its permissions on CASSANDRA_KEYSPACE (an admin ``session``)."""
    from cassandra import InvalidRequest

    row = session.execute("SELECT permissions FROM system_auth.role_permissions WHERE role = %s "
                          "AND resource = %s", (cass.user, f"data/{cass.keyspace}")).one()
    held = set(row.permissions or ()) if row else set()
    for permission in (p for p in STREAM_PERMISSIONS if p not in held):  # a repeat warns
        try:
            session.execute(f"GRANT {permission} ON KEYSPACE {cql_name(cass.keyspace)} TO "
                            f"{cql_name(cass.user)}", timeout=30)
        except InvalidRequest as exc:
            if "AllowAllAuthorizer" not in str(exc):
                raise
            # A node without authorization (docker-compose's image): everyone may do anything.
            log.warning("Cassandra at %s runs without authorization (AllowAllAuthorizer): "
                        "the role %s is not limited to keyspace %s", cass.host, cass.user,
                        cass.keyspace)
            return
    log.debug("role %s may %s keyspace %s", cass.user, "/".join(STREAM_PERMISSIONS), cass.keyspace)
