"""A single Cassandra 5.0 node, from Maven Central jars."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import SecretStr

from binance_cdc.errors import CassandraLoginError
from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.sink.roles import cql_name, cql_string, role_exists
from binance_cdc.stack.jars import classpath, find_jar
from binance_cdc.stack.services.base import Port, Service
from binance_cdc.stack.templates import render

log = logging.getLogger(__name__)

CONF = PROJECT_ROOT / "cassandra"

# The superuser (and password) a node with PasswordAuthenticator creates when it has no role.
DEFAULT_SUPERUSER = "cassandra"


def write_cqlsh_credentials(settings: Settings) -> None:
    """cqlsh's credentials file for CASSANDRA_USER (0600): `cqlsh --credentials FILE`."""
    from binance_cdc.passwords import write_private

    cass = settings.cassandra
    write_private(settings.stack.cqlsh_credentials,
                  f"[plain_text_auth]\nusername = {cass.user}\n"
                  f"password = {cass.password.get_secret_value()}\n", replace=True)


class CassandraService(Service):
    name = "cassandra"
    settings_section = "cassandra"
    jar_modules = ("cassandra", "jmx")
    unprivileged = True

    @property
    def yaml_file(self) -> Path:
        return self.conf_dir / "cassandra.yaml"

    @property
    def log_file(self) -> Path:
        return self.stack.logs_dir / "cassandra" / "system.log"

    def ports(self) -> list[Port]:
        jmx = [self.port("jmx_port")] if self.settings.cassandra.jmx_port else []
        return [self.port("port"), self.port("storage_port"), *jmx, *self.metrics_ports()]

    def prepare(self) -> None:
        cass = self.settings.cassandra
        render(CONF / "cassandra.yaml", self.yaml_file, {
            "listen_address": cass.host, "rpc_address": cass.host,
            "storage_port": cass.storage_port, "native_transport_port": cass.port,
            "data_dir": self.data_dir,
        })
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)

    def jvm_options(self) -> list[str]:
        lines = (CONF / "jvm17.options").read_text().splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    def argv(self) -> list[str]:
        cass = self.settings.cassandra
        return [self.stack.java, f"-Xms{cass.heap}", f"-Xmx{cass.heap}", *self.jvm_options(),
                f"-javaagent:{find_jar(self.stack, 'cassandra', 'jamm-')}", *self.jmx_agent(),
                f"-Dcassandra.config=file://{self.yaml_file}",
                f"-Dcassandra.storagedir={self.data_dir}",
                f"-Dcassandra.logdir={self.log_file.parent}",
                f"-Dlogback.configurationFile={CONF / 'logback.xml'}",
                # JMX only when asked for (nodetool): it has no password, so off by default;
                # the metrics agent reads the MBeans in-process and needs no port.
                *([f"-Dcassandra.jmx.local.port={cass.jmx_port}"] if cass.jmx_port else []),
                # The default superuser at once, so the launcher can replace it at once.
                "-Dcassandra.superuser_setup_delay_ms=0",
                f"-Dcassandra.native_transport_port={cass.port}",
                "-cp", classpath(self.stack, "cassandra"),
                "org.apache.cassandra.service.CassandraDaemon"]

    def probe(self) -> str:
        from binance_cdc.sink.connection import cassandra_session

        try:
            with cassandra_session(self.settings.cassandra, timeout_s=3, admin=True) as session:
                row = session.execute("SELECT release_version FROM system.local", timeout=5).one()
        except CassandraLoginError:
            # A new node (only the default role): make ours with it; the next probe logs in.
            self._create_superuser()
            raise
        return f"Cassandra {row.release_version}"

    def _create_superuser(self) -> None:
        """A new node's only role is cassandra/cassandra: create CASSANDRA_ADMIN_USER with it.

        Nothing if the default login is refused too (gone, or the node is not ready yet).
        ``after_ready`` then drops the default role, logged in as ours.
        """
        from binance_cdc.sink.connection import cassandra_session

        cass = self.settings.cassandra
        default = cass.model_copy(update={"admin_user": DEFAULT_SUPERUSER,
                                          "admin_password": SecretStr(DEFAULT_SUPERUSER)})
        try:
            with cassandra_session(default, timeout_s=3, admin=True) as session:
                name = cql_name(cass.admin_user)
                password = cql_string(cass.admin_password.get_secret_value())
                if role_exists(session, cass.admin_user):  # CASSANDRA_ADMIN_USER=cassandra
                    session.execute(f"ALTER ROLE {name} WITH PASSWORD = {password}", timeout=30)
                else:
                    session.execute(f"CREATE ROLE {name} WITH SUPERUSER = true AND LOGIN = true "
                                    f"AND PASSWORD = {password}", timeout=30)
        except CassandraLoginError:
            return
        log.info("cassandra: superuser %s created", cass.admin_user)

    def after_ready(self) -> None:
        from binance_cdc.sink.roles import drop_role, ensure_stream_role

        cass = self.settings.cassandra
        if cass.admin_user != DEFAULT_SUPERUSER and drop_role(cass, DEFAULT_SUPERUSER):
            log.info("cassandra: the default superuser %s dropped", DEFAULT_SUPERUSER)
        ensure_stream_role(cass)
        write_cqlsh_credentials(self.settings)
