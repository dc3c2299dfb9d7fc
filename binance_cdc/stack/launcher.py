"""`stack up | down | status | logs | reset`: the local services as one unit.

Start order follows what each service needs: Cassandra is spawned first because
it is the slowest and needs nobody; Postgres and Kafka next; Connect only once
Kafka answers (the worker asks the broker for its cluster id before anything);
the metrics exporter and Prometheus last, needing nobody (they report who is down).
Every start ends with a real query, so "up" means "answers", not "spawned".
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from binance_cdc.errors import PortTakenError, ServiceStartError, StackError
from binance_cdc.settings import Settings
from binance_cdc.stack import process
from binance_cdc.stack.account import ensure_account, hand_over
from binance_cdc.stack.jars import ensure_jars
from binance_cdc.stack.ports import port_open, wait_port_free
from binance_cdc.stack.services.base import Service
from binance_cdc.stack.services.cassandra import CassandraService
from binance_cdc.stack.services.connect import ConnectService
from binance_cdc.stack.services.exporter import ExporterService
from binance_cdc.stack.services.kafka import KafkaService
from binance_cdc.stack.services.postgres import PostgresService
from binance_cdc.stack.services.prometheus import PrometheusService
from binance_cdc.stack.services.spark import SparkMasterService, SparkWorkerService

log = logging.getLogger(__name__)

# Names that stand for several services: `stack up spark` is the whole cluster.
GROUPS: dict[str, str] = {"spark": "spark-"}
# Spawn order: Cassandra first because it is the slowest and needs nobody.
SPAWN_FIRST = ("cassandra", "postgres", "kafka", "spark-master", "connect")


def needs(name: str) -> tuple[str, ...]:
    """Which services must answer before ``name`` may be spawned."""
    if name == "connect":
        return ("kafka",)  # the worker asks the broker for its cluster id before anything
    if name.startswith("spark-worker-"):
        return ("spark-master",)
    return ()


@dataclass
class ServiceStatus:
    name: str
    pid: int | None
    ports: list[int]
    healthy: bool
    detail: str
    rss_bytes: int | None = None
    log_file: str = ""
    enabled: bool = True

    @property
    def state(self) -> str:
        if not self.enabled:
            return "off"
        if self.pid is None:
            return "stopped"
        return "healthy" if self.healthy else "unhealthy"


@dataclass
class UpReport:
    started: dict[str, float] = field(default_factory=dict)
    """Seconds from spawn to answering, for each service this call started."""
    already_running: list[str] = field(default_factory=list)
    jars_resolved: bool = False


def build_services(settings: Settings) -> dict[str, Service]:
    workers = [SparkWorkerService(settings, n) for n in range(1, settings.spark.cluster_workers + 1)]
    return {s.name: s for s in (PostgresService(settings), KafkaService(settings),
                                ConnectService(settings), CassandraService(settings),
                                SparkMasterService(settings), *workers,
                                ExporterService(settings), PrometheusService(settings))}


def service_names(settings: Settings) -> tuple[str, ...]:
    return tuple(build_services(settings))


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services = build_services(settings)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.services)

    def _select(self, names: Iterable[str] | None) -> list[Service]:
        wanted: set[str] = set()
        for name in names or self.names:
            if name in GROUPS:
                wanted.update(n for n in self.names if n.startswith(GROUPS[name]))
            elif name in self.services:
                wanted.add(name)
            else:
                raise StackError(f"unknown service {name!r}; expected some of "
                                 f"{', '.join([*self.names, *GROUPS])}")
        return [self.services[n] for n in self.names if n in wanted]

    # -- up ------------------------------------------------------------------
    def up(self, names: Iterable[str] | None = None,
           on_ready: Callable[[str, float, str], None] | None = None) -> UpReport:
        """Start the chosen services (default: all) and return once each answers."""
        report = UpReport()
        targets = self._select(names)
        to_start = [s for s in targets if s.enabled() and s.pid_file.running_pid() is None]
        report.already_running = [s.name for s in targets
                                  if s.enabled() and s not in to_start]
        self._check_ports(to_start)
        if not to_start:
            return report
        # A full `up` resolves every jar folder (the stream needs spark's too); `up NAME`
        # only its own, leaving the folders of services that keep running alone.
        report.jars_resolved = ensure_jars(self.settings.stack, None if names is None else sorted(
            {m for s in to_start for m in s.jar_modules}))
        for directory in (self.settings.stack.logs_dir, self.settings.stack.run_dir):
            directory.mkdir(parents=True, exist_ok=True)

        spawned: dict[str, tuple[int, float]] = {}
        pending = {s.name: s for s in to_start}
        try:
            order = [*SPAWN_FIRST, *(n for n in self.names if n not in SPAWN_FIRST)]
            for name in order:
                service = pending.get(name)
                if service is None:
                    continue
                for needed in needs(name):
                    self._await_ready(self.services[needed], spawned, report, on_ready)
                spawned[name] = (self._spawn(service), time.monotonic())
            for name in self.names:
                if name in pending:
                    self._await_ready(pending[name], spawned, report, on_ready)
        except BaseException:
            # Leave nothing half-started behind: stop what this call spawned, by the
            # pids it got back (a pid file may not name a process that failed early).
            for name, (pid, _) in spawned.items():
                if process.is_alive(pid):
                    process.terminate(pid, timeout_s=self.settings.stack.stop_timeout_s)
                self.services[name].pid_file.remove()
            raise
        return report

    def _check_ports(self, services: list[Service]) -> None:
        for service in services:
            for port in service.ports():
                if port_open(port.host, port.port):
                    raise PortTakenError(service.name, port.port, port.env_var)

    def _spawn(self, service: Service) -> int:
        service.prepare()
        user = service.run_as()
        if user and service.unprivileged:
            ensure_account(user)
            hand_over(service.writable_paths(), user)
        pid = process.spawn(service.argv(), log_path=service.console_file, env=service.env(),
                            user=service.run_as())
        service.pid_file.write(pid)
        log.info("%s starting (pid %s)", service.name, pid)
        return pid

    def _await_ready(self, service: Service, spawned: dict[str, tuple[int, float]],
                     report: UpReport,
                     on_ready: Callable[[str, float, str], None] | None) -> None:
        if service.name in report.started or service.name not in spawned:
            return
        pid, started = spawned[service.name]
        deadline = started + self.settings.stack.start_timeout_s
        last_error = "no answer yet"
        while True:
            # The pid we spawned, not the pid file: right after exec the command line
            # is not reliably readable yet, and only a real exit is a failed start.
            if not process.is_alive(pid):
                raise ServiceStartError(service.name, f"the process exited during start-up "
                                        f"({_tail(service.console_file)})", str(service.log_file))
            try:
                detail = service.probe()
                break
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last_error = str(exc) or type(exc).__name__
            if time.monotonic() > deadline:
                raise ServiceStartError(
                    service.name, f"no answer after {self.settings.stack.start_timeout_s:.0f}s "
                    f"(last error: {last_error})", str(service.log_file))
            time.sleep(0.5)
        service.after_ready()
        seconds = time.monotonic() - started
        report.started[service.name] = seconds
        log.info("%s ready in %.1fs: %s", service.name, seconds, detail)
        if on_ready:
            on_ready(service.name, seconds, detail)

    # -- down ----------------------------------------------------------------
    def down(self, names: Iterable[str] | None = None) -> list[str]:
        """Stop the chosen services we started (reverse order); return the names stopped."""
        stopped = []
        for service in reversed(self._select(names)):
            pid = service.pid_file.running_pid()
            if pid is None:
                continue
            log.info("stopping %s (pid %s)", service.name, pid)
            process.terminate(pid, timeout_s=self.settings.stack.stop_timeout_s,
                              sig=service.stop_signal)
            service.pid_file.remove()
            for port in service.ports():
                wait_port_free(port.host, port.port, timeout_s=10)
            stopped.append(service.name)
        return stopped

    # -- status --------------------------------------------------------------
    def status(self, names: Iterable[str] | None = None) -> list[ServiceStatus]:
        result = []
        for service in self._select(names):
            pid = service.pid_file.running_pid()
            ports = [p.port for p in service.ports()]
            healthy, detail = False, "not running"
            if not service.enabled():
                healthy, detail = True, "off (its port setting is 0)"
            elif pid is not None:
                try:
                    healthy, detail = True, service.probe()
                except Exception as exc:  # noqa: BLE001
                    detail = f"not answering: {exc}"
            elif any(port_open(p.host, p.port) for p in service.ports()):
                detail = "not started by us, but its port is in use by another process"
            result.append(ServiceStatus(service.name, pid, ports, healthy, detail,
                                        process.rss_bytes(pid) if pid else None,
                                        str(service.log_file), service.enabled()))
        return result

    # -- reset ---------------------------------------------------------------
    def reset(self) -> None:
        """Stop everything and delete all service data and logs (the jars stay)."""
        self.down()
        stack = self.settings.stack
        for directory in (stack.data_dir, stack.logs_dir, stack.run_dir):
            shutil.rmtree(directory, ignore_errors=True)
        log.info("stack data removed from %s", stack.home)

    def log_file(self, name: str) -> str:
        return str(self._select([name])[0].log_file)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no output"
    return " | ".join(text[-lines:]) or "no output"
