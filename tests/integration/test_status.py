"""`binance-cdc status` against the running stack, and against a stack that is not there."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from binance_cdc.cli.main import main
from binance_cdc.cli.status_cmd import render
from binance_cdc.connect.connector import ConnectorDefinition
from binance_cdc.datasets import DATASETS
from binance_cdc.observe.status import collect_status
from binance_cdc.settings import Settings
from binance_cdc.stack.launcher import service_names

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect, pytest.mark.cassandra]

SECTIONS = {"services", "cdc", "topics", "stream", "cassandra", "extraction"}


def test_json_has_every_section_filled_from_the_running_stack(
        settings: Settings, connector: ConnectorDefinition,
        capsys: pytest.CaptureFixture[str]) -> None:
    main(["status", "--json"])
    report = json.loads(capsys.readouterr().out)

    assert SECTIONS <= set(report)
    for name in SECTIONS - {"stream"}:
        assert report[name]["error"] is None, (name, report[name]["error"])
    services = {s["name"]: s for s in report["services"]["services"]}
    assert set(services) == set(service_names(settings))
    assert all(s["state"] == "healthy" and s["pid"] for s in services.values())
    cdc = report["cdc"]
    assert cdc["connector"] == connector.name and cdc["state"] == "RUNNING"
    assert [t["state"] for t in cdc["tasks"]] == ["RUNNING"]
    assert cdc["slot"]["active"] is True and cdc["slot"]["lag_bytes"] >= 0
    topics = {t["topic"]: t for t in report["topics"]["topics"]}
    assert "binance.binance.latest_prices" in topics
    assert all(t["end_offsets"] for t in topics.values())
    counts = report["cassandra"]["counts"]
    assert all(isinstance(counts[name], int) for name in DATASETS)
    for run in report["extraction"]["runs"]:
        assert run["dataset"] in DATASETS and run["status"] in ("ok", "failed", "partial")


def test_text_form_has_every_heading(connector: ConnectorDefinition,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    main(["status"])
    out = capsys.readouterr().out
    for heading in ("SERVICES", "CDC", "TOPICS", "STREAM", "CASSANDRA rows", "EXTRACTION"):
        assert f"\n{heading}" in out
    assert f"connector {connector.name}: RUNNING" in out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nothing_running_degrades_every_section_without_crashing(
        settings: Settings, tmp_path: Path) -> None:
    nowhere = settings.model_copy(update={
        "stack": settings.stack.model_copy(update={"home": tmp_path}),
        "postgres": settings.postgres.model_copy(update={"port": free_port()}),
        "kafka": settings.kafka.model_copy(update={"port": free_port()}),
        "connect": settings.connect.model_copy(update={"port": free_port()}),
        "cassandra": settings.cassandra.model_copy(update={"port": free_port()}),
        "spark": settings.spark.model_copy(update={"checkpoint_dir": tmp_path / "none"}),
    })

    report = collect_status(nowhere)

    assert all(s.state == "stopped" for s in report.services.services)
    assert set(report.errors) == SECTIONS - {"services"}
    assert "not reachable" in report.cdc.error and report.cdc.slot_error
    assert "does not answer" in report.topics.error
    assert "cannot reach Cassandra" in report.cassandra.error
    assert "extraction_runs" in report.extraction.error
    json.dumps(report.to_dict())  # the --json form still renders
    text = render(report)
    assert text.count("DOWN/UNKNOWN") == 5 and "stopped" in text
