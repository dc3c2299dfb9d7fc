"""What is written out by hand beside binance_cdc/datasets.py agrees with it.

The Postgres tables and publication are checked on the server
(tests/integration/test_postgres_schema.py, test_postgres_schema_setting.py), the
Cassandra tables on the node (tests/integration/test_cassandra_schema.py); the
connector's table list is derived from DATASETS (binance_cdc/connect/connector.py).
"""

from __future__ import annotations

import json
import re

from binance_cdc.datasets import DATASETS
from binance_cdc.extract.runner import EXTRACTORS
from binance_cdc.settings import PROJECT_ROOT, ExtractSettings


def test_the_extractor_has_one_loader_per_dataset_and_runs_all_by_default() -> None:
    assert set(EXTRACTORS) == set(DATASETS)
    assert ExtractSettings.model_fields["datasets"].default == list(DATASETS)


def test_the_connector_file_lists_the_datasets() -> None:
    config = json.loads((PROJECT_ROOT / "debezium" / "binance-postgres.json").read_text())["config"]
    assert config["table.include.list"].split(",") == [f"binance.{name}" for name in DATASETS]


def test_the_publication_lists_the_datasets_and_debeziums_helpers() -> None:
    sql = (PROJECT_ROOT / "sql" / "03_replication.sql").read_text()
    listed = re.search(r"ALTER PUBLICATION binance_cdc SET TABLE(.*?);", sql, re.S)
    assert listed is not None
    tables = [t.strip().removeprefix(':"schema".') for t in listed.group(1).split(",")]
    assert tables == [*DATASETS, "debezium_heartbeat", "debezium_signal"]


def test_every_replica_table_is_created_in_cassandra_schema_cql() -> None:
    cql = (PROJECT_ROOT / "cassandra" / "schema.cql").read_text()
    created = set(re.findall(r"CREATE TABLE IF NOT EXISTS \$\{keyspace\}\.(\w+)", cql))
    assert set(DATASETS) <= created
