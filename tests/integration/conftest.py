"""Fixtures of the extractor's integration tests: an in-process simulator per test on a
clock the test moves, symbols unique to the test (so tests share one database without
truncating anything), and the real PostgreSQL of the stack (or POSTGRES_PORT)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from binance_cdc.binance.simulator.market import ManualClock, Market
from binance_cdc.binance.simulator.server import SimulatorServer
from binance_cdc.extract.runner import Extractor
from binance_cdc.settings import Settings


@pytest.fixture
def sim_clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def sim(unique_name: str, sim_clock: ManualClock) -> Iterator[SimulatorServer]:
    """The simulator with every built-in symbol renamed <symbol>_<unique>."""
    market = Market(11, clock=sim_clock, symbol_suffix=f"_{unique_name}", history_minutes=120)
    server = SimulatorServer(market).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sym(unique_name: str) -> Callable[[str], str]:
    """The test's name of a built-in simulator symbol: sym("BTCUSDT")."""
    return lambda base: f"{base}_{unique_name}"


class Db:
    """Read helpers over an autocommit connection."""

    def __init__(self, conn: Any) -> None:
        conn.autocommit = True
        self.conn = conn

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def value(self, query: str, *params: Any) -> Any:
        return self.rows(query, *params)[0][0]

    def count(self, table: str, symbols: list[str]) -> int:
        return self.value(f"SELECT count(*) FROM binance.{table} WHERE symbol = ANY(%s)",
                          symbols)


@pytest.fixture
def db(pg_conn: Any) -> Db:
    return Db(pg_conn)


@pytest.fixture
def make_extractor(settings: Settings, sim: SimulatorServer, db: Db,
                   sym: Callable[[str], str]) -> Iterator[Callable[..., Extractor]]:
    """Build an Extractor against the simulator: make_extractor(["BTCUSDT"], depth_limit=5)."""
    built: list[Extractor] = []

    def build(symbols: list[str] | None = None, *, raw_symbols: list[str] | None = None,
              **extract: Any) -> Extractor:
        names = [sym(s) for s in symbols or ["BTCUSDT"]] + list(raw_symbols or [])
        run_settings = settings.model_copy(update={
            "binance": settings.binance.model_copy(update={
                "base_url": sim.url, "symbols": names, "max_retries": 2,
                "backoff_base_s": 0.05}),
            "extract": settings.extract.model_copy(update={"klines_backfill": 30, **extract})})
        extractor = Extractor(run_settings)
        built.append(extractor)
        return extractor

    yield build
    for extractor in built:
        extractor.close()
