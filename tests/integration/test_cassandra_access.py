"""Who may log in to Cassandra and what the stream's role may do (real node)."""

from __future__ import annotations

import stat
import subprocess
import uuid

import pytest
from cassandra import Unauthorized
from cassandra.cluster import Cluster, NoHostAvailable
from pydantic import SecretStr

from binance_cdc.errors import CassandraLoginError
from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.sink.connection import PROTOCOL_VERSION, cassandra_session
from binance_cdc.sink.schema import apply_schema
from tests.e2e.conftest import plain_env

pytestmark = pytest.mark.cassandra


def test_no_login_without_the_projects_credentials(settings: Settings) -> None:
    cass = settings.cassandra
    anonymous = Cluster([cass.host], port=cass.port, protocol_version=PROTOCOL_VERSION,
                        connect_timeout=5)
    try:
        with pytest.raises(NoHostAvailable, match="requires authentication"):
            anonymous.connect()
    finally:
        anonymous.shutdown()
    default = cass.model_copy(update={"admin_user": "cassandra",
                                      "admin_password": SecretStr("cassandra")})
    with pytest.raises(CassandraLoginError, match="CASSANDRA_ADMIN_USER/CASSANDRA_ADMIN_PASSWORD"):
        with cassandra_session(default, admin=True):
            pass
    wrong = cass.model_copy(update={"password": SecretStr("not-the-password")})
    with pytest.raises(CassandraLoginError, match="CASSANDRA_USER/CASSANDRA_PASSWORD") as caught:
        with cassandra_session(wrong):
            pass
    assert not caught.value.retryable
    # cqlsh without credentials is refused too (the README's command passes its file).
    bare = subprocess.run(["cqlsh", cass.host, str(cass.port), "-e", "SELECT now() FROM system.local"],
                          cwd=PROJECT_ROOT, env=plain_env(), capture_output=True, text=True,
                          timeout=60)
    assert bare.returncode != 0 and "requires authentication" in bare.stderr, bare.stderr
    path = settings.stack.cqlsh_credentials
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"username = {cass.user}" in path.read_text()


def test_the_stream_role_reads_and_writes_its_keyspace_and_nothing_else(
        settings: Settings, unique_name: str) -> None:
    cass = settings.cassandra
    apply_schema(cass)
    other = f"k{uuid.uuid4().hex[:10]}"
    with cassandra_session(cass, admin=True, timeout_s=10) as admin:
        admin.execute(f"CREATE KEYSPACE {other} WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
        admin.execute(f"CREATE TABLE {other}.t (k text PRIMARY KEY)", timeout=60)
    try:
        with cassandra_session(cass, keyspace=cass.keyspace, timeout_s=10) as session:
            session.execute("INSERT INTO latest_prices (symbol, price) VALUES (%s, 1)",
                            (unique_name,))
            assert session.execute("SELECT price FROM latest_prices WHERE symbol = %s",
                                   (unique_name,)).one() is not None
            session.execute("DELETE FROM latest_prices WHERE symbol = %s", (unique_name,))
            for statement in (f"SELECT * FROM {other}.t",
                              f"INSERT INTO {other}.t (k) VALUES ('x')",
                              "CREATE KEYSPACE nope WITH replication = "
                              "{'class': 'SimpleStrategy', 'replication_factor': 1}",
                              "DROP TABLE latest_prices",
                              "CREATE ROLE nope WITH LOGIN = true AND PASSWORD = 'x'"):
                with pytest.raises(Unauthorized):
                    session.execute(statement, timeout=30)
    finally:
        with cassandra_session(cass, admin=True, timeout_s=10) as admin:
            admin.execute(f"DROP KEYSPACE {other}", timeout=60)
