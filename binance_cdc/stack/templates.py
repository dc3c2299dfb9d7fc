"""Render the project's declarative config files (``${name}`` placeholders)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from binance_cdc.errors import ConfigError


def render(template: Path, target: Path, values: dict[str, object]) -> Path:
    """Write ``template`` with its ``${name}`` placeholders filled to ``target``."""
    try:
        text = Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise ConfigError(f"{template} uses ${{{exc.args[0]}}}, which the launcher does not set") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
