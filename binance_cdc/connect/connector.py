"""The Debezium connector: load its definition, apply it, wait for it, explain failures."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from binance_cdc.connect.client import ConnectClient
from binance_cdc.datasets import DATASETS
from binance_cdc.errors import ConfigError, ConnectError, ConnectorFailedError
from binance_cdc.postgres.replication import SIGNAL_TABLE
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

# The schema debezium/*.json is written for; load_definition moves it to POSTGRES_SCHEMA.
FILE_SCHEMA = "binance"

# Trace fragment -> what to do about it. First match wins.
LIKELY_CAUSES: tuple[tuple[str, str], ...] = (
    (r"password authentication failed|authentication failed for user",
     "Postgres rejected Debezium's credentials: check POSTGRES_DEBEZIUM_USER / "
     "POSTGRES_DEBEZIUM_PASSWORD, then restart the Connect worker (`binance-cdc stack down "
     "connect && binance-cdc stack up`) so it sees them"),
    (r"publication .* does not exist|[Pp]ublication autocreation is disabled",
     "the publication is missing: apply sql/03_replication.sql (`binance-cdc stack up` does)"),
    (r"replication slot .* is active",
     "another connector or client is already reading this replication slot; change slot.name "
     "or stop the other reader"),
    (r"logical decoding requires wal_level|wal_level",
     "PostgreSQL is not running with wal_level=logical (sql/postgresql.conf)"),
    (r"must be superuser or replication role|permission denied",
     "the Debezium role lacks REPLICATION or SELECT; re-apply sql/01_roles.sql and "
     "sql/03_replication.sql"),
    (r"Connection refused|UnknownHostException|connection attempt failed",
     "Connect cannot reach Postgres: check CONNECT_DATABASE_HOST / CONNECT_DATABASE_PORT"),
    (r"database .* does not exist", "the database does not exist: check POSTGRES_DATABASE"),
    (r"Could not resolve variable|ConfigProvider|env:",
     "a ${env:...} reference could not be resolved: start the Connect worker with "
     "BINANCE_CDC_DEBEZIUM_USER/PASSWORD set (`binance-cdc stack up` does)"),
)


def likely_cause(trace: str,
                 default: str = "see the trace below and `binance-cdc stack logs connect`") -> str:
    for pattern, advice in LIKELY_CAUSES:
        if re.search(pattern, trace):
            return advice
    return default


@dataclass(frozen=True)
class ConnectorDefinition:
    name: str
    config: dict[str, str]

    @property
    def slot_name(self) -> str:
        return self.config.get("slot.name", "debezium")

    @property
    def publication_name(self) -> str:
        return self.config.get("publication.name", "dbz_publication")

    @property
    def topic_prefix(self) -> str:
        return self.config["topic.prefix"]

    def with_overrides(self, **overrides: str) -> ConnectorDefinition:
        """A copy with some config keys replaced (``slot_name="x"`` sets ``slot.name``)."""
        config = dict(self.config)
        name = overrides.pop("name", self.name)
        for key, value in overrides.items():
            config[key.replace("_", ".")] = value
        return ConnectorDefinition(name, config)


def load_definition(settings: Settings, path: Path | None = None) -> ConnectorDefinition:
    """Read debezium/*.json and point it at the configured database and topic prefix."""
    path = path or settings.connect.connector_file
    try:
        raw = json.loads(path.read_text())
        name, config = raw["name"], dict(raw["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a connector definition with 'name' and 'config' "
                          f"({exc})") from exc
    pg, connect = settings.postgres, settings.connect
    config["database.hostname"] = connect.database_host or pg.host
    config["database.port"] = str(connect.database_port or pg.port)
    config["database.dbname"] = pg.database
    config["topic.prefix"] = settings.kafka.topic_prefix
    # The replicated tables are the datasets, in the configured schema (as sql/ creates
    # them); the file's own list and helper tables are written for the default schema.
    schema = pg.schema_name
    config["table.include.list"] = ",".join(f"{schema}.{name}" for name in DATASETS)
    config["signal.data.collection"] = f"{schema}.{SIGNAL_TABLE}"
    if "heartbeat.action.query" in config:
        config["heartbeat.action.query"] = _in_schema(config["heartbeat.action.query"], schema)
    config["topic.creation.default.partitions"] = str(connect.topic_partitions)
    config["poll.interval.ms"] = str(connect.poll_interval_ms)
    return ConnectorDefinition(name, {k: str(v) for k, v in config.items()})


def validation_errors(client: ConnectClient, definition: ConnectorDefinition) -> list[str]:
    result = client.validate(definition.config["connector.class"],
                             {**definition.config, "name": definition.name})
    problems = []
    for entry in result.get("configs", []):
        value = entry.get("value", {})
        for error in value.get("errors", []):
            problems.append(f"{value.get('name')}: {error}")
    return problems


def apply(client: ConnectClient, definition: ConnectorDefinition, *, timeout_s: float) -> dict:
    """Create or update the connector (idempotent) and wait until it and its task run."""
    problems = validation_errors(client, definition)
    if problems:
        joined = "; ".join(problems)
        raise ConnectError(f"connector {definition.name} is not valid: {joined}. "
                           f"Likely cause: {likely_cause(joined, default='the settings named')}")
    client.put_config(definition.name, definition.config)
    log.info("connector %s configured; waiting for it to run", definition.name)
    return wait_running(client, definition.name, timeout_s=timeout_s)


def failure(status: dict) -> str | None:
    """The trace of the connector or first task in FAILED state, if any."""
    if status["connector"]["state"] == "FAILED":
        return status["connector"].get("trace", "FAILED without a trace")
    for task in status.get("tasks", []):
        if task["state"] == "FAILED":
            return task.get("trace", "FAILED without a trace")
    return None


def is_running(status: dict) -> bool:
    tasks = status.get("tasks", [])
    return (status["connector"]["state"] == "RUNNING" and bool(tasks)
            and all(t["state"] == "RUNNING" for t in tasks))


def wait_running(client: ConnectClient, name: str, *, timeout_s: float) -> dict:
    """The connector's status once it and its tasks run; a worker that is restarting or
    rebalancing (a retryable :class:`ConnectError`) is waited for until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    stable = 0
    while True:
        try:
            status = client.status(name)
        except ConnectError as exc:
            if not exc.retryable or time.monotonic() > deadline:
                raise
            log.debug("connector %s: %s; asking again", name, exc)
            status, stable = None, 0
        if status is not None:
            trace = failure(status)
            if trace is not None:
                raise ConnectorFailedError(name, trace, likely_cause(trace))
            stable = stable + 1 if is_running(status) else 0
            # Twice in a row: a task can report RUNNING just before a restart.
            if stable >= 2:
                return status
        if time.monotonic() > deadline:
            raise ConnectError(f"connector {name} is not RUNNING after {timeout_s:.0f}s "
                               f"(last status: {status}); see `binance-cdc stack logs connect`",
                               retryable=True)
        time.sleep(0.5)


def _in_schema(statement: str, schema: str) -> str:
    """``statement`` with the default schema's tables (``binance.``) moved to ``schema``."""
    return statement.replace(f"{FILE_SCHEMA}.", f"{schema}.")
