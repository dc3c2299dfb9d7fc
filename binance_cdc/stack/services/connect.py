"""A distributed Kafka Connect worker with Debezium's PostgreSQL connector."""

from __future__ import annotations

from pathlib import Path

from binance_cdc.errors import ServiceStartError
from binance_cdc.settings import PROJECT_ROOT
from binance_cdc.stack.services.base import Port, Service, kafka_family_argv
from binance_cdc.stack.templates import render

TEMPLATE = PROJECT_ROOT / "debezium" / "connect-distributed.properties"
DEBEZIUM_CONNECTOR = "io.debezium.connector.postgresql.PostgresConnector"


class ConnectService(Service):
    name = "connect"
    settings_section = "connect"
    jar_modules = ("connect", "debezium", "jmx")
    unprivileged = True

    @property
    def properties_file(self) -> Path:
        return self.conf_dir / "connect-distributed.properties"

    def ports(self) -> list[Port]:
        return [self.port("port"), *self.metrics_ports()]

    def prepare(self) -> None:
        connect, kafka = self.settings.connect, self.settings.kafka
        render(TEMPLATE, self.properties_file, {
            "bootstrap_servers": kafka.bootstrap_servers, "group_id": connect.group_id,
            "host": connect.host, "port": connect.port,
            "plugin_path": self.stack.jars_dir / "connect-plugins",
        })

    def env(self) -> dict[str, str]:
        # The connector JSON names these through Connect's EnvVarConfigProvider
        # (${env:...}), so no credential is ever written into a config file.
        pg = self.settings.postgres
        return {**super().env(), "BINANCE_CDC_DEBEZIUM_USER": pg.debezium_user,
                "BINANCE_CDC_DEBEZIUM_PASSWORD": pg.debezium_password.get_secret_value()}

    def argv(self) -> list[str]:
        return kafka_family_argv(self.stack, "connect", self.settings.connect.heap, self.log_file,
                                 "org.apache.kafka.connect.cli.ConnectDistributed",
                                 str(self.properties_file), agent=self.jmx_agent())

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
