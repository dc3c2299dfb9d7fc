"""Each jar folder is stamped with the poms that decide it, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from binance_cdc.settings import StackSettings
from binance_cdc.stack import jars

PARENT = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modules>{modules}</modules>
  <properties><kafka.version>{kafka}</kafka.version><other.version>1</other.version></properties>
  <profiles><profile><id>service-module</id></profile></profiles>
</project>"""
MODULE = "<project><artifactId>kafka</artifactId><version>${kafka.version}</version></project>"


@pytest.fixture
def jvm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "pom.xml").write_text(MODULE)
    monkeypatch.setattr(jars, "JVM_DIR", tmp_path)
    return tmp_path


def write_parent(jvm: Path, *, modules: str = "<module>kafka</module>", kafka: str = "4.3.1",
                 other: str = "1") -> None:
    (jvm / "pom.xml").write_text(PARENT.format(modules=modules, kafka=kafka).replace(
        "<other.version>1<", f"<other.version>{other}<"))


def test_a_new_module_or_an_unused_property_leaves_the_other_folders_alone(jvm: Path) -> None:
    write_parent(jvm)
    before = jars.module_digest("kafka")
    write_parent(jvm, modules="<module>kafka</module><module>jmx</module>", other="2")
    assert jars.module_digest("kafka") == before


def test_a_version_the_module_uses_rebuilds_it(jvm: Path) -> None:
    write_parent(jvm)
    before = jars.module_digest("kafka")
    write_parent(jvm, kafka="4.4.0")
    assert jars.module_digest("kafka") != before


def test_only_unstamped_or_changed_folders_are_stale(jvm: Path, tmp_path: Path) -> None:
    write_parent(jvm)
    stack = StackSettings(home=tmp_path / "home")
    assert jars.stale_modules(stack, ["kafka"]) == ["kafka"]
    (stack.jars_dir / "kafka").mkdir(parents=True)
    (stack.jars_dir / ".stamps").mkdir()
    (stack.jars_dir / ".stamps" / "kafka").write_text(jars.module_digest("kafka") + "\n")
    assert jars.stale_modules(stack, ["kafka"]) == []
    assert jars.ensure_jars(stack, ["kafka"]) is False  # nothing to do: Maven is not run
    write_parent(jvm, kafka="4.4.0")
    assert jars.stale_modules(stack, ["kafka"]) == ["kafka"]
