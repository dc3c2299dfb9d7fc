"""A service whose port setting is 0 is off: `stack up` skips it and `stack status` says so."""

from __future__ import annotations

from pathlib import Path

from binance_cdc.settings import MetricsSettings, Settings, StackSettings
from binance_cdc.stack.launcher import Stack


def test_the_exporter_with_port_zero_is_off_and_up_starts_nothing(tmp_path: Path) -> None:
    stack = Stack(Settings(stack=StackSettings(home=tmp_path),
                           metrics=MetricsSettings(exporter_port=0)))
    report = stack.up(["exporter"])
    assert report.started == {} and report.already_running == []
    assert not (tmp_path / "run").exists()
    status = {s.name: s for s in stack.status(["exporter"])}["exporter"]
    assert (status.state, status.healthy, status.ports) == ("off", True, [])
