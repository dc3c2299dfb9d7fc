"""Create the Cassandra keyspace and tables from cassandra/schema.cql (idempotent)."""

from __future__ import annotations

import logging
import re
from string import Template

from binance_cdc.errors import SinkError
from binance_cdc.settings import PROJECT_ROOT, CassandraSettings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.roles import grant_keyspace

log = logging.getLogger(__name__)

SCHEMA_FILE = PROJECT_ROOT / "cassandra" / "schema.cql"


def schema_statements(cass: CassandraSettings) -> list[str]:
    """The statements of schema.cql with settings filled in, comments removed."""
    text = Template(SCHEMA_FILE.read_text()).substitute(
        keyspace=cass.keyspace, replication_class=cass.replication_class,
        replication_factor=cass.replication_factor)
    text = re.sub(r"--[^\n]*", "", text)
    return [s.strip() for s in text.split(";") if s.strip()]


def apply_schema(cass: CassandraSettings) -> int:
    """Run every statement; return how many ran."""
    from cassandra import DriverException

    statements = schema_statements(cass)
    # As the superuser: the stream's own role may only read and write the keyspace.
    with cassandra_session(cass, timeout_s=10, admin=True) as session:
        for statement in statements:
            try:
                session.execute(statement, timeout=60)
            except DriverException as exc:
                first_line = statement.splitlines()[0]
                raise SinkError(f"Cassandra refused `{first_line}`: {exc}") from exc
        grant_keyspace(session, cass)
    log.info("Cassandra keyspace %s ready (%d statements)", cass.keyspace, len(statements))
    return len(statements)
