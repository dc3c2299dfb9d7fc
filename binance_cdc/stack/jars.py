"""Resolve the service jars from Maven Central with jvm/pom.xml, once.

A stamp file remembers the hash of the poms the folders were built from, so a
second run neither downloads nor copies anything; a changed pom rebuilds the
folders from scratch so no stale jar lingers on a classpath.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import time
from pathlib import Path

from binance_cdc.errors import JarResolutionError
from binance_cdc.settings import PROJECT_ROOT, StackSettings

log = logging.getLogger(__name__)

JVM_DIR = PROJECT_ROOT / "jvm"
SERVICE_FOLDERS = ("kafka", "connect", "connect-plugins", "cassandra", "spark")


def _poms_digest() -> str:
    digest = hashlib.sha256()
    for pom in sorted(JVM_DIR.rglob("pom.xml")):
        digest.update(pom.relative_to(JVM_DIR).as_posix().encode())
        digest.update(pom.read_bytes())
    return digest.hexdigest()


def jars_ready(stack: StackSettings) -> bool:
    stamp = stack.jars_dir / ".stamp"
    return (stamp.exists() and stamp.read_text().strip() == _poms_digest()
            and all((stack.jars_dir / f).is_dir() for f in SERVICE_FOLDERS))


def ensure_jars(stack: StackSettings) -> bool:
    """Make sure every service folder is resolved; return True if Maven had to run."""
    if jars_ready(stack):
        return False
    if shutil.which(stack.mvn) is None:
        raise JarResolutionError(
            f"Maven ({stack.mvn!r}) is not installed; install it (apt-get install maven) "
            "or set STACK_MVN")
    for folder in SERVICE_FOLDERS:
        shutil.rmtree(stack.jars_dir / folder, ignore_errors=True)
    stack.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = stack.logs_dir / "maven.log"
    log.info("resolving service jars from Maven Central (first run only; log: %s)", log_path)
    started = time.monotonic()
    with open(log_path, "wb") as out:
        result = subprocess.run(  # noqa: S603
            [stack.mvn, "-B", "-f", str(JVM_DIR / "pom.xml"), "generate-resources",
             f"-Djars.dir={stack.jars_dir}"],
            stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise JarResolutionError(
            f"Maven could not resolve the service jars (exit {result.returncode}); "
            f"see {log_path} — is Maven Central reachable?")
    (stack.jars_dir / ".stamp").write_text(_poms_digest() + "\n")
    log.info("service jars resolved in %.0fs into %s", time.monotonic() - started, stack.jars_dir)
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
