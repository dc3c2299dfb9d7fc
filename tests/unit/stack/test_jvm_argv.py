"""The JMX exporter agent on the command lines of Kafka, Connect and Cassandra."""

from __future__ import annotations

from pathlib import Path

import pytest

from binance_cdc.settings import CassandraSettings, ConnectSettings, KafkaSettings, Settings, StackSettings
from binance_cdc.stack.launcher import build_services
from binance_cdc.stack.services.base import JMX_RULES

AGENT = "jmx_prometheus_javaagent-1.0.1.jar"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # The jar folders as `stack jars` leaves them (empty files are enough to build argv).
    for folder, jar in (("jmx", AGENT), ("cassandra", "jamm-0.4.0.jar")):
        (tmp_path / "jars" / folder).mkdir(parents=True)
        (tmp_path / "jars" / folder / jar).touch()
    return tmp_path


def agents(argv: list[str]) -> list[str]:
    return [a for a in argv if a.startswith("-javaagent:") and "jmx_prometheus" in a]


@pytest.mark.parametrize(("service", "port"), [("kafka", 9404), ("connect", 9405),
                                               ("cassandra", 9406)])
def test_each_jvm_runs_the_agent_on_loopback_with_its_rules(home: Path, service: str,
                                                             port: int) -> None:
    services = build_services(Settings(
        stack=StackSettings(home=home), kafka=KafkaSettings(metrics_port=9404),
        connect=ConnectSettings(metrics_port=9405), cassandra=CassandraSettings(metrics_port=9406)))
    argv = services[service].argv()
    assert agents(argv) == [
        f"-javaagent:{home / 'jars' / 'jmx' / AGENT}=127.0.0.1:{port}:{JMX_RULES / f'{service}.yaml'}"]
    # An agent must come before the main class to take effect.
    assert argv.index(agents(argv)[0]) < argv.index("-cp")
    assert port in [p.port for p in services[service].ports()]


def test_port_zero_runs_the_jvms_without_the_agent(home: Path) -> None:
    services = build_services(Settings(
        stack=StackSettings(home=home), kafka=KafkaSettings(metrics_port=0),
        connect=ConnectSettings(metrics_port=0), cassandra=CassandraSettings(metrics_port=0)))
    for name in ("kafka", "connect", "cassandra"):
        assert agents(services[name].argv()) == []
        assert 0 not in [p.port for p in services[name].ports()]


def test_the_storage_formatter_never_gets_the_agent(home: Path) -> None:
    # A second JVM with the agent would take the broker's metrics port.
    kafka = build_services(Settings(stack=StackSettings(home=home)))["kafka"]
    assert agents(kafka._java("kafka.tools.StorageTool", "format", heap="256m")) == []  # noqa: SLF001
