"""A single Cassandra 5.0 node, from Maven Central jars."""

from __future__ import annotations

from pathlib import Path

from binance_cdc.settings import PROJECT_ROOT
from binance_cdc.stack.jars import classpath, find_jar
from binance_cdc.stack.services.base import Port, Service
from binance_cdc.stack.templates import render

CONF = PROJECT_ROOT / "cassandra"


class CassandraService(Service):
    name = "cassandra"
    settings_section = "cassandra"
    jar_modules = ("cassandra", "jmx")

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
                f"-Dcassandra.native_transport_port={cass.port}",
                "-cp", classpath(self.stack, "cassandra"),
                "org.apache.cassandra.service.CassandraDaemon"]

    def probe(self) -> str:
        from binance_cdc.sink.connection import cassandra_session

        with cassandra_session(self.settings.cassandra, timeout_s=3) as session:
            row = session.execute("SELECT release_version FROM system.local", timeout=5).one()
        return f"Cassandra {row.release_version}"
