"""prometheus/: the scrape config, alert rules and JMX agent rules, checked by promtool.

promtool comes with Debian's prometheus package (scripts/setup.sh installs it); the rule
unit tests in prometheus/tests/alerts_test.yml run here, so `make test` (CI) runs them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from binance_cdc.settings import (
    CassandraSettings,
    ConnectSettings,
    KafkaSettings,
    MetricsSettings,
    PrometheusSettings,
    Settings,
    StackSettings,
)
from binance_cdc.stack.services.prometheus import (
    CONF,
    job_targets,
    render_config,
    render_thresholds,
    threshold_values,
)

JMX_SERVICES = ("kafka", "connect", "cassandra")


def promtool(*args: str) -> str:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: install Debian's prometheus package (scripts/setup.sh)"
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def defaults() -> Settings:
    # The field defaults, whatever the environment of the test run says.
    return Settings(**{name: cls(_env_file=None, **{f: field.default for f, field
                                                     in cls.model_fields.items()})
                       for name, cls in [("connect", ConnectSettings),
                                         ("prometheus", PrometheusSettings)]})


def test_the_repository_config_and_its_rules_pass_promtool_check() -> None:
    out = promtool("check", "config", str(CONF / "prometheus.yml"))
    assert "2 rule files found" in out
    promtool("check", "rules", *map(str, sorted((CONF / "rules").glob("*.yml"))))


def test_the_alert_rules_pass_their_unit_tests() -> None:
    assert "SUCCESS" in promtool("test", "rules", str(CONF / "tests" / "alerts_test.yml"))


def test_the_committed_thresholds_are_the_settings_defaults() -> None:
    committed = (CONF / "rules" / "thresholds.yml").read_text()
    assert committed == render_thresholds(threshold_values(defaults())), (
        "regenerate prometheus/rules/thresholds.yml from the settings' defaults")


def test_every_alert_the_issue_asks_for_exists() -> None:
    rules = yaml.safe_load((CONF / "rules" / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"ReplicationSlotRetainingWal", "StreamBehind", "DeadLettersIncreasing",
            "ConnectorTaskNotRunning", "ExtractorNotLoading", "ServiceDown"} <= alerts


def test_the_launcher_config_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        stack=StackSettings(home=tmp_path),
        kafka=KafkaSettings(metrics_port=19404), connect=ConnectSettings(metrics_port=0),
        cassandra=CassandraSettings(metrics_port=19406),
        metrics=MetricsSettings(stream_port=19462, exporter_port=19463, extractor_port=19461),
        prometheus=PrometheusSettings(port=19090, scrape_interval_s=1, evaluation_interval_s=0.5,
                                      alert_stream_lag_s=5))
    thresholds = tmp_path / "thresholds.yml"
    thresholds.write_text(render_thresholds(threshold_values(settings)))
    config = render_config(settings, thresholds)
    assert config["global"] == {"scrape_interval": "1000ms", "evaluation_interval": "500ms"}
    targets = {job["job_name"]: job["static_configs"][0]["targets"]
               for job in config["scrape_configs"]}
    assert "connect" not in targets  # its agent is off
    assert targets["kafka"] == ["127.0.0.1:19404"] and targets["stream"] == ["127.0.0.1:19462"]
    assert set(targets) == set(job_targets(settings)) - {"connect"}
    assert config["rule_files"] == [str(CONF / "rules" / "alerts.yml"), str(thresholds)]
    assert "vector(5)" in thresholds.read_text()
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(yaml.safe_dump(config))
    promtool("check", "config", str(rendered))


@pytest.mark.parametrize("service", JMX_SERVICES)
def test_each_jmx_rules_file_reads_only_chosen_beans(service: str) -> None:
    config = yaml.safe_load((CONF / "jmx" / f"{service}.yaml").read_text())
    assert config["includeObjectNames"], "a scrape of every bean is slow; list the beans"
    for rule in config["rules"]:
        assert rule["pattern"] and rule["name"] and rule["type"] in ("GAUGE", "COUNTER")


def test_the_connect_rules_export_task_states_and_debezium_streaming() -> None:
    names = {r["name"] for r in yaml.safe_load((CONF / "jmx" / "connect.yaml").read_text())["rules"]}
    assert {"kafka_connect_connector_task_status", "debezium_streaming_behind_source_seconds",
            "debezium_streaming_connected"} <= names
