"""Shared fixtures.

Integration and e2e tests talk to the real services of the local stack
(`binance-cdc stack up`, which `.ci/run` starts). A fixture waits a little for
its service and then FAILS, never skips: in CI a missing service is a failure.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from binance_cdc.settings import Settings, load_settings

T = TypeVar("T")


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


def wait_for(what: str, probe: Callable[[], T], timeout_s: float = 30.0) -> T:
    """Call ``probe`` until it returns without raising; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return probe()
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            if time.monotonic() > deadline:
                pytest.fail(f"{what} is not reachable ({exc}); start the stack with "
                            "`binance-cdc stack up`", pytrace=False)
            time.sleep(0.5)


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses (topics, keyspaces, symbols)."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg_admin_dsn(settings: Settings) -> str:
    return settings.postgres.dsn(admin=True)


@pytest.fixture
def pg_conn(settings: Settings) -> Iterator[object]:
    """A connection to the binance database as the extractor's role (autocommit off)."""
    import psycopg

    conn = wait_for("PostgreSQL", lambda: psycopg.connect(settings.postgres.dsn()))
    try:
        yield conn
    finally:
        conn.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Lifecycle tests stop, kill and wipe the shared stack: run them after everything else.
    items.sort(key=lambda item: item.get_closest_marker("stack") is not None)


pytest_plugins = ["tests.integration.cdc_fixtures"]
