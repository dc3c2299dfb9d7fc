"""docker-compose.yml cannot run here; it must at least parse and agree with
the local stack: the same services, ports and mounted project files."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from binance_cdc.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
JARS = "./.stack/jars/"
"""Mounted from the jar folders `binance-cdc stack jars` resolves (not in git)."""


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _host_ports(service: dict) -> set[int]:
    # "9092:9092" or "127.0.0.1:9404:9404": the host port is the one before the container's.
    return {int(str(p).split(":")[-2]) for p in service.get("ports", [])}


def test_compose_has_the_services_from_official_images() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "kafka", "connect", "cassandra", "prometheus"}
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert "debezium/connect:3." in services["connect"]["image"]
    assert services["cassandra"]["image"].startswith("cassandra:5.0")


def test_compose_publishes_the_ports_of_the_local_settings() -> None:
    defaults = Settings()
    services = _compose()["services"]
    assert defaults.postgres.port in _host_ports(services["postgres"])
    assert defaults.kafka.port in _host_ports(services["kafka"])
    assert defaults.connect.port in _host_ports(services["connect"])
    assert defaults.cassandra.port in _host_ports(services["cassandra"])


def test_compose_mounts_the_project_files_that_exist() -> None:
    mounted = set()
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith("./"), f"{volume} is not a project file"
            if source.startswith(JARS):
                assert source.removeprefix(JARS) == "jmx", volume
                continue
            path = PROJECT_ROOT / source
            assert path.exists(), f"{volume}: {path} does not exist"
            mounted.add(Path(source).parts[0])
    assert {"sql", "debezium", "cassandra", "prometheus"} <= mounted


def test_compose_postgres_uses_the_projects_logical_wal_settings() -> None:
    postgres = _compose()["services"]["postgres"]
    assert "config_file=/etc/postgresql/binance-cdc.conf" in " ".join(postgres["command"])
    include = (PROJECT_ROOT / "docker" / "postgres.conf").read_text()
    assert "/binance-cdc/sql/postgresql.conf" in include
    assert "wal_level = logical" in (PROJECT_ROOT / "sql" / "postgresql.conf").read_text()
    init = (PROJECT_ROOT / "docker" / "initdb.sh").read_text()
    assert "sql/01_roles.sql" in init


def test_compose_kafka_runs_in_kraft_mode() -> None:
    env = _compose()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env


def test_compose_prometheus_uses_the_same_config_and_scrapes_the_same_addresses() -> None:
    prometheus = _compose()["services"]["prometheus"]
    # Host network: the repository's prometheus.yml scrapes 127.0.0.1:<port> in both worlds.
    assert prometheus["network_mode"] == "host"
    assert prometheus["image"] == f"prom/prometheus:v{_debian_prometheus_version()}"
    assert "./prometheus:/binance-cdc/prometheus:ro" in prometheus["volumes"]
    command = " ".join(prometheus["command"])
    assert "--config.file=/binance-cdc/prometheus/prometheus.yml" in command
    assert f"--web.listen-address=127.0.0.1:{Settings().prometheus.port}" in command


def _debian_prometheus_version() -> str:
    """The version of the Debian package the local stack runs (promtool comes with it)."""
    out = subprocess.run(["promtool", "--version"], capture_output=True, text=True, check=True)
    return re.search(r"version (\d+\.\d+\.\d+)", out.stdout + out.stderr).group(1)


def test_compose_jvms_run_the_jmx_agent_of_the_pom_with_the_repositorys_rules() -> None:
    pom = ET.parse(PROJECT_ROOT / "jvm" / "pom.xml").getroot()
    version = pom.find("{http://maven.apache.org/POM/4.0.0}properties/"
                       "{http://maven.apache.org/POM/4.0.0}jmx.exporter.version").text
    defaults = Settings()
    services = _compose()["services"]
    for name, variable, port in (("kafka", "KAFKA_OPTS", defaults.kafka.metrics_port),
                                 ("connect", "KAFKA_OPTS", defaults.connect.metrics_port),
                                 ("cassandra", "JVM_EXTRA_OPTS", defaults.cassandra.metrics_port)):
        option = services[name]["environment"][variable]
        assert re.fullmatch(rf"-javaagent:/binance-cdc/jmx/jmx_prometheus_javaagent-{version}\.jar"
                            rf"={port}:/binance-cdc/prometheus/jmx/{name}\.yaml", option), option
        assert f"127.0.0.1:{port}:{port}" in services[name]["ports"]


def test_compose_publishes_every_port_on_loopback_only() -> None:
    published = [(name, str(p)) for name, service in _compose()["services"].items()
                 for p in service.get("ports", [])]
    assert published, "no published ports?"
    assert [p for p in published if not p[1].startswith("127.0.0.1:")] == []


def test_compose_connect_limits_its_config_providers_like_the_local_worker() -> None:
    env = _compose()["services"]["connect"]["environment"]
    assert env["CONNECT_CONFIG_PROVIDERS"] == "env"
    assert env["CONNECT_CONFIG_PROVIDERS_ENV_PARAM_ALLOWLIST_PATTERN"] == "BINANCE_CDC_[A-Z_]+"


def test_compose_has_no_built_in_password() -> None:
    found = {}
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key:
                found[f"{name}.{key}"] = str(value)
    assert len(found) == 4, found
    for where, value in found.items():
        # ${VAR:?message}: compose refuses to start without it; no ${VAR:-default}.
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), (where, value)
    init = (PROJECT_ROOT / "docker" / "initdb.sh").read_text()
    assert "-v app_password" not in init and "\\set" in init  # on psql's stdin, not its argv
