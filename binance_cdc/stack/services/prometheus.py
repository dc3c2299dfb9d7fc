"""Prometheus (Debian's `prometheus` package) scraping the stack, with alerts.

The configuration lives in prometheus/: prometheus.yml (scrape jobs, used as
is by docker-compose.yml), rules/alerts.yml and rules/thresholds.yml. Here the
launcher writes a copy whose intervals and target ports follow the settings
(a job whose port is 0 is left out) and whose thresholds file is generated
from the settings; alerts.yml is read from the repository itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from binance_cdc.errors import ServiceStartError, StackError
from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.stack.services.base import Port, Service

CONF = PROJECT_ROOT / "prometheus"
THRESHOLDS = "rules/thresholds.yml"


def job_targets(settings: Settings) -> dict[str, tuple[str, int]]:
    """Scrape job -> (host, port) of its target, from the settings."""
    m = settings.metrics
    return {
        "prometheus": (settings.prometheus.host, settings.prometheus.port),
        "kafka": (settings.kafka.host, settings.kafka.metrics_port),
        "connect": (settings.connect.host, settings.connect.metrics_port),
        "cassandra": (settings.cassandra.host, settings.cassandra.metrics_port),
        "extractor": (m.host, m.extractor_port),
        "stream": (m.host, m.stream_port),
        "exporter": (m.host, m.exporter_port),
    }


def _duration(seconds: float) -> str:
    return f"{int(seconds * 1000)}ms"


def render_config(settings: Settings, thresholds_file: Path) -> dict[str, Any]:
    """prometheus/prometheus.yml with the settings' intervals, ports and thresholds file."""
    config = yaml.safe_load((CONF / "prometheus.yml").read_text())
    p = settings.prometheus
    config["global"].update(scrape_interval=_duration(p.scrape_interval_s),
                            evaluation_interval=_duration(p.evaluation_interval_s))
    config["rule_files"] = [str(thresholds_file) if entry == THRESHOLDS else str(CONF / entry)
                            for entry in config.get("rule_files", [])]
    targets = job_targets(settings)
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] in targets:
            host, port = targets[job["job_name"]]
            if not port:
                continue
            job["static_configs"] = [{"targets": [f"{host}:{port}"]}]
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def threshold_values(settings: Settings) -> dict[str, float]:
    """The alert thresholds that are settings, as the series rules/alerts.yml compares with."""
    return {
        "binance_cdc:threshold_slot_retained_wal_bytes": settings.connect.slot_lag_warn_bytes,
        "binance_cdc:threshold_stream_lag_seconds": settings.prometheus.alert_stream_lag_s,
        "binance_cdc:threshold_extract_missed_intervals":
            settings.prometheus.alert_extract_missed_intervals,
    }


def render_thresholds(values: dict[str, float]) -> str:
    """rules/thresholds.yml: one recording rule per threshold (``vector(value)``)."""
    lines = ["# Alert thresholds that are settings (CONNECT_SLOT_LAG_WARN_BYTES, PROMETHEUS_ALERT_*),",
             "# as series that alerts.yml compares with. `binance-cdc stack up prometheus` writes",
             "# them from the settings; this copy holds the defaults (docker-compose.yml uses it).",
             "groups:", "  - name: binance-cdc-thresholds", "    rules:"]
    for name, value in values.items():
        number = int(value) if float(value).is_integer() else value
        lines += [f"      - record: {name}", f"        expr: vector({number})"]
    return "\n".join(lines) + "\n"


class PrometheusService(Service):
    name = "prometheus"
    settings_section = "prometheus"

    @property
    def config_file(self) -> Path:
        return self.conf_dir / "prometheus.yml"

    @property
    def log_file(self) -> Path:
        return self.console_file

    def ports(self) -> list[Port]:
        return [self.port("port")]

    def _binary(self) -> str:
        binary = shutil.which(self.settings.prometheus.binary)
        if binary is None:
            raise StackError(f"{self.settings.prometheus.binary!r} not found; install Prometheus "
                             "(apt-get install prometheus, or scripts/setup.sh) or set "
                             "PROMETHEUS_BINARY")
        return binary

    def prepare(self) -> None:
        thresholds = self.conf_dir / "thresholds.yml"
        thresholds.parent.mkdir(parents=True, exist_ok=True)
        thresholds.write_text(render_thresholds(threshold_values(self.settings)))
        self.config_file.write_text(yaml.safe_dump(render_config(self.settings, thresholds),
                                                   sort_keys=False))
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        p = self.settings.prometheus
        return [self._binary(), f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.data_dir}",
                f"--storage.tsdb.retention.time={p.retention}",
                f"--web.listen-address={p.host}:{p.port}"]

    def probe(self) -> str:
        import requests

        url = self.settings.prometheus.url
        response = requests.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=3)
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise ServiceStartError("prometheus", f"query `up` answered {body}", str(self.log_file))
        targets = body["data"]["result"]
        up = sum(1 for t in targets if t["value"][1] == "1")
        version = requests.get(f"{url}/api/v1/status/buildinfo", timeout=3).json()["data"]["version"]
        return f"Prometheus {version} at {url}: {up} of {len(targets)} targets up"
