"""A distributed Kafka Connect worker with Debezium's PostgreSQL connector."""

from __future__ import annotations

from binance_cdc.errors import ServiceStartError
from binance_cdc.settings import PROJECT_ROOT
from binance_cdc.stack.jars import classpath
from binance_cdc.stack.services.base import Port, Service, jvm_common
from binance_cdc.stack.templates import render

TEMPLATE = PROJECT_ROOT / "debezium" / "connect-distributed.properties"
LOG4J = PROJECT_ROOT / "kafka" / "log4j2.properties"
DEBEZIUM_CONNECTOR = "io.debezium.connector.postgresql.PostgresConnector"


class ConnectService(Service):
    name = "connect"
    settings_section = "connect"

    @property
    def properties_file(self):  # noqa: ANN201
        return self.conf_dir / "connect-distributed.properties"

    @property
    def secrets_file(self):  # noqa: ANN201
        """Credentials the connector config reads through Connect's FileConfigProvider."""
        return self.conf_dir / "secrets.properties"

    def ports(self) -> list[Port]:
        return [self.port("port")]

    def prepare(self) -> None:
        connect, kafka = self.settings.connect, self.settings.kafka
        render(TEMPLATE, self.properties_file, {
            "bootstrap_servers": kafka.bootstrap_servers, "group_id": connect.group_id,
            "host": connect.host, "port": connect.port,
            "plugin_path": self.stack.jars_dir / "connect-plugins",
        })
        self.write_secrets()

    def write_secrets(self) -> None:
        pg = self.settings.postgres
        self.secrets_file.parent.mkdir(parents=True, exist_ok=True)
        self.secrets_file.touch(mode=0o600)
        self.secrets_file.write_text(
            f"database.user={pg.debezium_user}\n"
            f"database.password={pg.debezium_password.get_secret_value()}\n")

    def argv(self) -> list[str]:
        return [self.stack.java, *jvm_common(self.settings.connect.heap),
                f"-Dlog4j2.configurationFile={LOG4J}", f"-Dlog.file.name={self.log_file}",
                "-cp", classpath(self.stack, "connect"),
                "org.apache.kafka.connect.cli.ConnectDistributed", str(self.properties_file)]

    def probe(self) -> str:
        import requests

        response = requests.get(f"{self.settings.connect.url}/connector-plugins", timeout=3)
        response.raise_for_status()
        plugins = {p["class"]: p.get("version") for p in response.json()}
        if DEBEZIUM_CONNECTOR not in plugins:
            raise ServiceStartError(
                "connect", f"{DEBEZIUM_CONNECTOR} is not among the plugins {sorted(plugins)}; "
                "run `binance-cdc stack jars`", str(self.log_file))
        return f"Kafka Connect with Debezium PostgresConnector {plugins[DEBEZIUM_CONNECTOR]}"
