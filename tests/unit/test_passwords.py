"""Generated passwords: created once, private, never overriding one the user set."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from binance_cdc import passwords
from binance_cdc.errors import ConfigError
from binance_cdc.settings import Settings, StackSettings, with_generated_passwords

NAMES = ["POSTGRES_PASSWORD", "POSTGRES_ADMIN_PASSWORD", "POSTGRES_DEBEZIUM_PASSWORD"]


def _settings(home: Path, **postgres: str) -> Settings:
    from binance_cdc.settings import PostgresSettings

    return Settings(stack=StackSettings(home=home), postgres=PostgresSettings(**postgres))


def test_first_use_writes_random_passwords_only_its_owner_reads(tmp_path: Path) -> None:
    settings = with_generated_passwords(_settings(tmp_path / "stack"))
    path = tmp_path / "stack" / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pg = settings.postgres
    values = [pg.password.get_secret_value(), pg.admin_password.get_secret_value(),
              pg.debezium_password.get_secret_value()]
    assert len(set(values)) == 3 and all(len(v) >= 32 for v in values)
    assert not {"binance", "postgres", "debezium"} & set(values)
    stored = passwords.read(path)
    assert {name: stored[name] for name in NAMES} == dict(zip(NAMES, values, strict=True))
    assert set(stored) == {"CASSANDRA_PASSWORD", "CASSANDRA_ADMIN_PASSWORD", *NAMES}
    # The next command reads the same passwords; nothing is generated twice.
    again = with_generated_passwords(_settings(tmp_path / "stack")).postgres
    assert again.admin_password.get_secret_value() == pg.admin_password.get_secret_value()


def test_a_password_the_user_set_wins_and_is_not_written(tmp_path: Path) -> None:
    settings = with_generated_passwords(_settings(tmp_path, password="mine"))
    assert settings.postgres.password.get_secret_value() == "mine"
    stored = passwords.read(tmp_path / "secrets.env")
    assert "POSTGRES_PASSWORD" not in stored and "POSTGRES_ADMIN_PASSWORD" in stored


def test_the_environment_counts_as_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_ADMIN_PASSWORD", "from-env")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    settings = with_generated_passwords(_settings(tmp_path))
    assert settings.postgres.admin_password.get_secret_value() == "from-env"


def test_a_password_added_later_is_generated_and_the_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    first = passwords.load_or_create(path, NAMES[:1])
    both = passwords.load_or_create(path, NAMES[:2])
    assert both[NAMES[0]] == first[NAMES[0]] and NAMES[1] in both
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_first_writer_wins_when_two_commands_start_together(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    assert passwords.write_private(path, "A=one\n", replace=False)
    assert not passwords.write_private(path, "A=two\n", replace=False)
    assert passwords.read(path) == {"A": "one"}
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.env"]  # no temporary file left


def test_a_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    passwords.load_or_create(path, NAMES)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        passwords.read(path)


def test_a_damaged_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("POSTGRES_PASSWORD=x\nnot a setting\n")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match=r"secrets\.env:2"):
        passwords.read(path)


def test_an_unwritable_home_says_what_to_do(tmp_path: Path) -> None:
    home = tmp_path / "ro"
    home.mkdir()
    os.chmod(home, 0o500)
    if os.geteuid() == 0:
        # root writes anywhere; a file where the directory should be fails for root too.
        home = tmp_path / "file"
        home.write_text("")
    with pytest.raises(ConfigError, match="STACK_HOME"):
        passwords.load_or_create(home / "secrets.env", NAMES)
