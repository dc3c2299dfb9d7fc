"""The README's settings table is exactly what `binance-cdc settings --markdown` prints."""

from __future__ import annotations

from binance_cdc.settings import PROJECT_ROOT, settings_markdown


def readme_table() -> list[str]:
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(settings_markdown()[0])
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def test_readme_lists_every_setting_with_its_default_and_docstring():
    assert readme_table() == settings_markdown(), (
        "the README's settings table is stale: paste in `binance-cdc settings --markdown`")
