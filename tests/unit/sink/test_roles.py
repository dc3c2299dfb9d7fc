"""Role names and passwords reach CQL quoted, whatever they contain."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

from pydantic import SecretStr

from binance_cdc.settings import CassandraSettings, Settings, StackSettings
from binance_cdc.sink.roles import cql_name, cql_string
from binance_cdc.stack.services.cassandra import write_cqlsh_credentials


def test_names_and_strings_are_quoted() -> None:
    assert cql_name("binance_cdc") == '"binance_cdc"'
    assert cql_name('we"ird') == '"we""ird"'
    assert cql_string("it's") == "'it''s'"


def test_cqlsh_reads_the_credentials_file_as_written(tmp_path: Path) -> None:
    settings = Settings(stack=StackSettings(home=tmp_path),
                        cassandra=CassandraSettings(user="r", password=SecretStr("p%w;x")))
    write_cqlsh_credentials(settings)
    path = settings.stack.cqlsh_credentials
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parsed = configparser.RawConfigParser()  # as cqlsh reads the password
    parsed.read(path)
    assert parsed.get("plain_text_auth", "username") == "r"
    assert parsed.get("plain_text_auth", "password") == "p%w;x"
