"""`binance-cdc exporter` as a stack service, so Prometheus always has the pipeline's state."""

from __future__ import annotations

import sys
from pathlib import Path

from binance_cdc.errors import ServiceStartError
from binance_cdc.stack.services.base import Port, Service

ARGV = ("-m", "binance_cdc", "exporter")


class ExporterService(Service):
    name = "exporter"
    settings_section = "metrics"

    @property
    def marker(self) -> str:
        return " ".join(ARGV)

    @property
    def log_file(self) -> Path:
        return self.console_file

    def enabled(self) -> bool:
        return bool(self.settings.metrics.exporter_port)

    def ports(self) -> list[Port]:
        port = self.port("exporter_port")
        return [port] if port.port else []

    def prepare(self) -> None:
        """Nothing to write: the exporter reads the settings the launcher passes on."""

    def argv(self) -> list[str]:
        return [sys.executable, *ARGV]

    def probe(self) -> str:
        import requests

        m = self.settings.metrics
        text = requests.get(f"http://{m.host}:{m.exporter_port}/metrics", timeout=10).text
        backends = [line for line in text.splitlines()
                    if line.startswith("binance_cdc_exporter_backend_up{")]
        if not backends:
            raise ServiceStartError("exporter", "its /metrics has no binance_cdc_exporter_backend_up",
                                    str(self.log_file))
        down = [line.split('"')[1] for line in backends if not line.rstrip().endswith(" 1.0")]
        return "serving; " + (f"cannot reach {', '.join(down)}" if down else "all backends answer")
