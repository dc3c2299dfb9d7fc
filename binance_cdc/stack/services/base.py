"""What the launcher needs to know about one local service."""

from __future__ import annotations

import abc
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from binance_cdc.settings import PROJECT_ROOT, Settings, StackSettings, env_var_for
from binance_cdc.stack.process import PidFile


@dataclass(frozen=True)
class Port:
    host: str
    port: int
    env_var: str
    """The setting that moves this port, for the "port taken" error."""


class Service(abc.ABC):
    """A process the launcher starts, probes and stops.

    Constructors only store settings; files are written in :meth:`prepare`.
    """

    name: str
    settings_section: str
    jar_modules: tuple[str, ...] = ()
    """The modules of jvm/pom.xml whose jars the service runs on (resolved before it starts)."""
    stop_signal: int = signal.SIGTERM
    """What `stack down` sends first (SIGKILL follows after STACK_STOP_TIMEOUT_S)."""
    unprivileged: bool = False
    """Run as STACK_OS_USER when the launcher runs as root (binance_cdc/stack/account.py)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stack = settings.stack

    # -- layout ------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.stack.data_dir / self.name

    @property
    def conf_dir(self) -> Path:
        return self.stack.run_dir / self.name

    @property
    def log_file(self) -> Path:
        """The service's own log (what `stack logs` shows)."""
        return self.stack.logs_dir / f"{self.name}.log"

    @property
    def console_file(self) -> Path:
        """Where the process's stdout/stderr go (JVM crashes land here)."""
        return self.stack.logs_dir / f"{self.name}.out"

    @property
    def pid_file(self) -> PidFile:
        return PidFile(self.stack.run_dir / f"{self.name}.pid", marker=self.marker)

    @property
    def marker(self) -> str:
        return str(self.conf_dir)

    def port(self, field: str) -> Port:
        section = getattr(self.settings, self.settings_section)
        return Port(section.host, getattr(section, field), env_var_for(self.settings_section, field))

    def metrics_ports(self) -> list[Port]:
        """The JMX exporter agent's port, unless its setting is 0 (off)."""
        port = self.port("metrics_port")
        return [port] if port.port else []

    def jmx_agent(self) -> list[str]:
        """``-javaagent`` for the Prometheus JMX exporter with prometheus/jmx/<service>.yaml,
        serving on 127.0.0.1 (the service's host) only; nothing when its port is 0."""
        from binance_cdc.stack.jars import find_jar

        ports = self.metrics_ports()
        if not ports:
            return []
        jar = find_jar(self.stack, "jmx", "jmx_prometheus_javaagent-")
        return [f"-javaagent:{jar}={ports[0].host}:{ports[0].port}:{JMX_RULES / f'{self.name}.yaml'}"]

    # -- behaviour ---------------------------------------------------------
    @abc.abstractmethod
    def ports(self) -> list[Port]:
        """Every TCP port the service binds; the first is its main one."""

    @abc.abstractmethod
    def prepare(self) -> None:
        """Write config files and initialise storage (idempotent)."""

    @abc.abstractmethod
    def argv(self) -> list[str]:
        """The command that runs the service in the foreground."""

    @abc.abstractmethod
    def probe(self) -> str:
        """Ask the service a real question; return a short description or raise."""

    def enabled(self) -> bool:
        """False when a setting turns the service off (`stack up` then skips it)."""
        return True

    def run_as(self) -> str | None:
        """OS user to run as (None: the launcher's own)."""
        return self.stack.os_user if self.unprivileged and os.geteuid() == 0 else None

    def writable_paths(self) -> list[Path]:
        """What the service writes, handed to its account before it starts."""
        return [self.data_dir, self.stack.logs_dir]

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def after_ready(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Work that needs the running service (roles, schemas)."""


KAFKA_LOG4J = PROJECT_ROOT / "kafka" / "log4j2.properties"
JMX_RULES = PROJECT_ROOT / "prometheus" / "jmx"


def kafka_family_argv(stack: StackSettings, jars: str, heap: str, log_file: Path, main: str,
                      *args: str, agent: Sequence[str] = ()) -> list[str]:
    """A Kafka-family JVM (broker, storage tool, Connect worker) logging through
    kafka/log4j2.properties into ``log_file``, with the jars of ``stack.jars_dir/jars``
    (and ``agent``: JVM options such as :meth:`Service.jmx_agent`)."""
    from binance_cdc.stack.jars import classpath

    return [stack.java, *jvm_common(heap), *agent, f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
            f"-Dlog.file.name={log_file}", "-cp", classpath(stack, jars), main, *args]


def jvm_common(heap: str, initial_heap: str = "256m") -> list[str]:
    """Heap and GC sizing shared by Kafka and Connect on a 2-core machine.

    The heap starts small and grows to ``heap``: most of the time neither needs it all.
    """
    return [f"-Xms{initial_heap}", f"-Xmx{heap}",
            "-XX:+UseG1GC", "-XX:ParallelGCThreads=2", "-XX:ConcGCThreads=1",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]
