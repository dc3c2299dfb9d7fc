"""psql gets the passwords on stdin and in its environment, never on its command line."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from binance_cdc.postgres.schema import psql_invocation, psql_quote
from binance_cdc.settings import PostgresSettings

SECRETS = {"password": "app-Secret1", "admin_password": "admin-Secret2",
           "debezium_password": "dbz-Secret3"}


def test_no_password_is_on_the_command_line() -> None:
    pg = PostgresSettings(**{k: SecretStr(v) for k, v in SECRETS.items()})
    for as_admin in (True, False):
        argv, stdin, env = psql_invocation(pg, Path("/x/01_roles.sql"), as_admin=as_admin,
                                           database="postgres")
        assert not any(secret in arg for secret in SECRETS.values() for arg in argv), argv
        assert "\\set app_password 'app-Secret1'\n" in stdin
        assert "\\set debezium_password 'dbz-Secret3'\n" in stdin
        assert stdin.endswith("\\i '/x/01_roles.sql'\n")
        assert env["PGPASSWORD"] == (SECRETS["admin_password"] if as_admin else SECRETS["password"])


def test_quoting_keeps_quotes_backslashes_and_newlines_inside_one_argument() -> None:
    assert psql_quote("plain") == "'plain'"
    assert psql_quote("it's") == "'it''s'"
    assert psql_quote("a\\b") == "'a\\\\b'"
    assert psql_quote("two\nlines") == "'two\\nlines'"
