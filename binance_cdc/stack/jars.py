"""Resolve the service jars from Maven Central with jvm/pom.xml, once.

Each module of jvm/pom.xml fills one folder, and each folder has its own stamp:
the hash of what decides its contents (the module's pom, the parent properties
it uses, the parent's build). A second run neither downloads nor copies
anything; a changed module is rebuilt from scratch, alone, so no stale jar
lingers on a classpath and the folders of other (perhaps running) services are
left alone. Maven runs only for the modules that need it (``-pl``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from binance_cdc.errors import JarResolutionError
from binance_cdc.settings import PROJECT_ROOT, StackSettings

log = logging.getLogger(__name__)

JVM_DIR = PROJECT_ROOT / "jvm"
# Module of jvm/pom.xml -> the folder under jars_dir it fills.
MODULE_FOLDERS = {"kafka": "kafka", "connect": "connect", "debezium": "connect-plugins",
                  "cassandra": "cassandra", "spark": "spark", "jmx": "jmx"}
_POM = "{http://maven.apache.org/POM/4.0.0}"


def module_digest(module: str) -> str:
    """Hash of everything that decides ``module``'s folder (not the list of sibling modules)."""
    parent = ET.parse(JVM_DIR / "pom.xml").getroot()  # noqa: S314 - our own file
    declared = parent.find(f"{_POM}properties")
    properties = {el.tag.removeprefix(_POM): (el.text or "").strip()
                  for el in (declared if declared is not None else [])}
    pom = (JVM_DIR / module / "pom.xml").read_text()
    digest = hashlib.sha256(pom.encode())
    for name in sorted(set(re.findall(r"\$\{([^}]+)\}", pom))):
        digest.update(f"\n{name}={properties.get(name)}".encode())
    for section in ("build", "profiles"):
        element = parent.find(f"{_POM}{section}")
        if element is not None:
            digest.update(ET.tostring(element))
    return digest.hexdigest()


def _stamp(stack: StackSettings, module: str) -> Path:
    return stack.jars_dir / ".stamps" / module


def stale_modules(stack: StackSettings, modules: Iterable[str] | None = None) -> list[str]:
    """The chosen modules (default: all) whose folder is missing or was built from other poms."""
    stale = []
    for module in modules if modules is not None else MODULE_FOLDERS:
        stamp = _stamp(stack, module)
        if not ((stack.jars_dir / MODULE_FOLDERS[module]).is_dir() and stamp.exists()
                and stamp.read_text().strip() == module_digest(module)):
            stale.append(module)
    return stale


def ensure_jars(stack: StackSettings, modules: Iterable[str] | None = None) -> bool:
    """Make sure the folders of ``modules`` (default: all) are resolved; True if Maven ran."""
    stale = stale_modules(stack, modules)
    if not stale:
        return False
    if shutil.which(stack.mvn) is None:
        raise JarResolutionError(
            f"Maven ({stack.mvn!r}) is not installed; install it (apt-get install maven) "
            "or set STACK_MVN")
    for module in stale:
        shutil.rmtree(stack.jars_dir / MODULE_FOLDERS[module], ignore_errors=True)
        _stamp(stack, module).unlink(missing_ok=True)
    stack.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = stack.logs_dir / "maven.log"
    log.info("resolving the jars of %s from Maven Central (log: %s)", ", ".join(stale), log_path)
    started = time.monotonic()
    with open(log_path, "wb") as out:
        result = subprocess.run(  # noqa: S603
            [stack.mvn, "-B", "-f", str(JVM_DIR / "pom.xml"), "-pl", ",".join(stale),
             "generate-resources", f"-Djars.dir={stack.jars_dir}"],
            stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise JarResolutionError(
            f"Maven could not resolve the service jars (exit {result.returncode}); "
            f"see {log_path} — is Maven Central reachable?")
    for module in stale:
        _stamp(stack, module).parent.mkdir(parents=True, exist_ok=True)
        _stamp(stack, module).write_text(module_digest(module) + "\n")
    log.info("jars of %s resolved in %.0fs into %s", ", ".join(stale),
             time.monotonic() - started, stack.jars_dir)
    return True


def classpath(stack: StackSettings, service: str) -> str:
    folder = stack.jars_dir / service
    return f"{folder}/*"


def find_jar(stack: StackSettings, service: str, prefix: str) -> Path:
    matches = sorted((stack.jars_dir / service).glob(f"{prefix}*.jar"))
    if not matches:
        raise JarResolutionError(
            f"no {prefix}*.jar in {stack.jars_dir / service}; run `binance-cdc stack jars`")
    return matches[-1]


def spark_jars(stack: StackSettings) -> list[Path]:
    """The local jars pyspark needs (spark.jars): Kafka source and Cassandra connector."""
    return sorted((stack.jars_dir / "spark").glob("*.jar"))
