"""One way to open a Cassandra session, shared by the sink, verify and the launcher."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from binance_cdc.errors import CassandraLoginError, SinkError
from binance_cdc.settings import CassandraSettings, env_var_for

if TYPE_CHECKING:
    from cassandra.cluster import Cluster, Session

# Cassandra 5.0 speaks protocol v5; saying so skips the driver's noisy downgrade dance.
PROTOCOL_VERSION = 5


def login(cass: CassandraSettings, *, admin: bool = False) -> tuple[str, str]:
    """The role and password to log in with: CASSANDRA_USER, or the superuser with ``admin``."""
    if admin:
        return cass.admin_user, cass.admin_password.get_secret_value()
    return cass.user, cass.password.get_secret_value()


def new_cluster(cass: CassandraSettings, *, timeout_s: float = 5.0,
                admin: bool = False) -> Cluster:
    """A driver Cluster for ``cass``, logging in as CASSANDRA_USER (the superuser with ``admin``)."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy

    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(),
                               request_timeout=max(timeout_s, 10.0))
    return Cluster([cass.host], port=cass.port, protocol_version=PROTOCOL_VERSION,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                   # Reconnect within seconds once a restarted node is back (default: up to 10 min).
                   reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.5, max_delay=5.0),
                   connect_timeout=timeout_s, control_connection_timeout=timeout_s,
                   auth_provider=PlainTextAuthProvider(*login(cass, admin=admin)))


@contextlib.contextmanager
def cassandra_session(cass: CassandraSettings, *, keyspace: str | None = None,
                      timeout_s: float = 5.0, admin: bool = False) -> Iterator[Session]:
    """A connected session (as the superuser with ``admin``); driver errors become
    :class:`SinkError`, a refused login a non-retryable one that names the settings."""
    from cassandra import AuthenticationFailed, DriverException
    from cassandra.cluster import NoHostAvailable

    cluster = new_cluster(cass, timeout_s=timeout_s, admin=admin)
    # The driver logs every failed connection attempt at ERROR; our error says it once.
    driver_log = logging.getLogger("cassandra.cluster")
    previous = driver_log.level
    driver_log.setLevel(logging.CRITICAL)
    try:
        try:
            session = cluster.connect(keyspace)
        except (NoHostAvailable, DriverException, OSError) as exc:
            errors = exc.errors.values() if isinstance(exc, NoHostAvailable) else ()
            refused = [e for e in errors if isinstance(e, AuthenticationFailed)]
            if refused:
                fields = ("admin_user", "admin_password") if admin else ("user", "password")
                names = "/".join(env_var_for("cassandra", f) for f in fields)
                raise CassandraLoginError(
                    f"Cassandra at {cass.host}:{cass.port} refused the login of role "
                    f"{login(cass, admin=admin)[0]!r}: {refused[0]}; check {names} "
                    "(`binance-cdc stack up` creates the roles)") from exc
            raise SinkError(f"cannot reach Cassandra at {cass.host}:{cass.port} ({exc}); is it "
                            "running? (`binance-cdc stack status`)", retryable=True) from exc
        finally:
            driver_log.setLevel(previous)
        yield session
    finally:
        cluster.shutdown()
