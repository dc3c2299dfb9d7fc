"""The Connect worker resolves only the project's own environment variables in connector
configs: a config cannot make it read another variable or a file into its config."""

from __future__ import annotations

import json
import re

from binance_cdc.settings import PROJECT_ROOT

WORKER = PROJECT_ROOT / "debezium" / "connect-distributed.properties"
CONNECTOR = PROJECT_ROOT / "debezium" / "binance-postgres.json"


def _worker() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in WORKER.read_text().splitlines()
             if "=" in line and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_only_an_allowlisted_env_provider_and_no_file_provider() -> None:
    worker = _worker()
    assert worker["config.providers"] == "env"
    pattern = re.compile(worker["config.providers.env.param.allowlist.pattern"])
    used = re.findall(r"\$\{env:([A-Z_]+)\}", CONNECTOR.read_text())
    assert used and all(pattern.fullmatch(name) for name in used)
    for other in ("HOME", "PATH", "AWS_SECRET_ACCESS_KEY", "POSTGRES_PASSWORD"):
        assert not pattern.fullmatch(other)
    assert not any("FileConfigProvider" in v or "DirectoryConfigProvider" in v
                   for v in worker.values())
    assert json.loads(CONNECTOR.read_text())["config"]  # the connector file still parses
