"""A single-node Kafka broker in KRaft mode, from Maven Central jars."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from binance_cdc.errors import ServiceStartError
from binance_cdc.settings import PROJECT_ROOT
from binance_cdc.stack.services.base import Port, Service, kafka_family_argv
from binance_cdc.stack.templates import render

TEMPLATE = PROJECT_ROOT / "kafka" / "server.properties"


def new_cluster_id() -> str:
    # What `kafka-storage random-uuid` prints: 16 random bytes, URL-safe base64, never
    # starting with "-" (Kafka draws again too: `-t -x…` reads as a missing argument).
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaService(Service):
    name = "kafka"
    settings_section = "kafka"
    jar_modules = ("kafka", "jmx")
    unprivileged = True

    @property
    def properties_file(self) -> Path:
        return self.conf_dir / "server.properties"

    def ports(self) -> list[Port]:
        return [self.port("port"), self.port("controller_port"), *self.metrics_ports()]

    def _java(self, main: str, *args: str, heap: str, agent: list[str] | None = None) -> list[str]:
        return kafka_family_argv(self.stack, "kafka", heap, self.log_file, main, *args,
                                 agent=agent or [])

    def prepare(self) -> None:
        kafka = self.settings.kafka
        render(TEMPLATE, self.properties_file, {
            "host": kafka.host, "port": kafka.port, "controller_port": kafka.controller_port,
            "data_dir": self.data_dir,
        })
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(  # noqa: S603
            self._java("kafka.tools.StorageTool", "format", "--ignore-formatted",
                       "-t", new_cluster_id(), "-c", str(self.properties_file), heap="256m"),
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceStartError("kafka", f"formatting the KRaft storage failed: "
                                    f"{(result.stdout + result.stderr).strip()[-500:]}")

    def argv(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.properties_file), heap=self.settings.kafka.heap,
                          agent=self.jmx_agent())

    def probe(self) -> str:
        from confluent_kafka.admin import AdminClient

        # log_level 2: no "connection refused" lines on stderr while the broker starts.
        admin = AdminClient({"bootstrap.servers": self.settings.kafka.bootstrap_servers,
                             "socket.timeout.ms": 2000, "log_level": 2})
        metadata = admin.list_topics(timeout=3)
        if not metadata.brokers:
            raise ServiceStartError("kafka", "metadata lists no broker", str(self.log_file))
        return f"Kafka cluster {metadata.cluster_id}, {len(metadata.brokers)} broker"
