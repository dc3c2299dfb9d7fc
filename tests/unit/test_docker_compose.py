"""docker-compose.yml cannot run here; it must at least parse and agree with
the local stack: the same services, ports and mounted project files."""

from __future__ import annotations

from pathlib import Path

import yaml

from binance_cdc.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _host_ports(service: dict) -> set[int]:
    return {int(str(p).split(":")[0]) for p in service.get("ports", [])}


def test_compose_has_the_four_services_from_official_images() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "kafka", "connect", "cassandra"}
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
            path = PROJECT_ROOT / source
            assert path.exists(), f"{volume}: {path} does not exist"
            mounted.add(Path(source).parts[0])
    assert {"sql", "debezium", "cassandra"} <= mounted


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
