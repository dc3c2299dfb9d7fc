"""Opening a Postgres connection: every refusal is a StoreError that says what to check."""

from __future__ import annotations

import socket

import psycopg
import pytest

from binance_cdc.errors import StoreError
from binance_cdc.postgres import connection
from binance_cdc.settings import PostgresSettings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_is_not_there_is_retryable_and_names_where_to_look() -> None:
    port = _closed_port()
    with pytest.raises(StoreError) as caught:
        connection.connect(PostgresSettings(host="127.0.0.1", port=port))
    assert caught.value.retryable
    assert f"PostgreSQL at 127.0.0.1:{port}" in str(caught.value)
    assert "POSTGRES_HOST/POSTGRES_PORT" in str(caught.value)
    assert isinstance(caught.value.__cause__, psycopg.OperationalError)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("admin, reason, names", [
    pytest.param(False, 'FATAL:  password authentication failed for user "binance"',
                 "POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DATABASE", id="wrong-password"),
    pytest.param(False, 'FATAL:  database "binance" does not exist',
                 "POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DATABASE", id="no-database"),
    pytest.param(True, 'FATAL:  role "postgres" does not exist',
                 "POSTGRES_ADMIN_USER/POSTGRES_ADMIN_PASSWORD", id="admin-role-missing"),
])
def test_a_server_that_refuses_us_is_not_retryable(monkeypatch: pytest.MonkeyPatch, admin: bool,
                                                   reason: str, names: str) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise psycopg.OperationalError(f"connection failed: {reason}")

    monkeypatch.setattr(psycopg, "connect", refuse)
    with pytest.raises(StoreError, match="refused the connection") as caught:
        connection.connect(PostgresSettings(), admin=admin, database="postgres" if admin else None)
    assert not caught.value.retryable
    assert f"check {names}" in str(caught.value)
