"""`bench extract`: load speed into Postgres and the API weight of one extraction cycle.

Both run against a scratch schema (a copy of the binance tables, dropped at the
end) so no benchmark row reaches the replicated tables, and the weight figures
come from a real cycle against an in-process simulator.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from psycopg import sql

from binance_cdc.binance.client import BinanceClient
from binance_cdc.binance.policy import WeightBudget
from binance_cdc.binance.simulator.market import Market
from binance_cdc.binance.simulator.server import SimulatorServer
from binance_cdc.binance.weights import depth_weight, request_weight
from binance_cdc.datasets import DATASETS, RECENT_TRADES
from binance_cdc.extract.runner import Extractor
from binance_cdc.postgres.store import PostgresStore, copy_upsert
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadFigures:
    rows: int
    batch_s: float
    row_by_row_s: float

    @property
    def batch_rows_per_s(self) -> float:
        return self.rows / self.batch_s

    @property
    def row_by_row_rows_per_s(self) -> float:
        return self.rows / self.row_by_row_s


@dataclass(frozen=True)
class WeightFigures:
    symbols: int
    first_cycle: dict[str, int]
    steady_cycle: dict[str, int]
    call_per_symbol: dict[str, int]


@contextmanager
def scratch_schema(settings: Settings) -> Iterator[PostgresStore]:
    """A store writing to a throw-away copy of the binance tables."""
    name = f"{settings.postgres.schema_name}_bench_{os.getpid()}"
    store = PostgresStore(settings.postgres, schema=name)
    with store.transaction() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        for table in (*DATASETS, "extraction_runs"):
            cur.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                store.table(table),
                sql.SQL("{}.{}").format(sql.Identifier(settings.postgres.schema_name),
                                        sql.Identifier(table))))
    try:
        yield store
    finally:
        with store.transaction() as cur:
            cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
        store.close()


def synthetic_trades(symbol: str, count: int) -> list[tuple[object, ...]]:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows: list[tuple[object, ...]] = []
    for i in range(count):
        price = Decimal(67000_00 + i % 5000).scaleb(-2)
        qty = Decimal(1 + i % 997).scaleb(-5)
        rows.append((symbol, 10**9 + i, price, qty, price * qty,
                     start + timedelta(milliseconds=i * 7), i % 2 == 0, True))
    return rows


def bench_load(settings: Settings, rows: int = 100_000) -> LoadFigures:
    """Seconds to store ``rows`` trades our way (COPY + INSERT ON CONFLICT) and row by row."""
    with scratch_schema(settings) as store:
        table = store.table(RECENT_TRADES.name)
        ours = synthetic_trades("BENCHUSDT", rows)
        started = time.perf_counter()
        with store.transaction() as cur:
            copy_upsert(cur, table, RECENT_TRADES, ours, on_conflict="nothing")
        batch_s = time.perf_counter() - started

        plain = synthetic_trades("NAIVEUSDT", rows)
        statement = sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                            "ON CONFLICT DO NOTHING").format(table)
        started = time.perf_counter()
        with store.transaction() as cur:
            for r in plain:
                cur.execute(statement, r)
        naive_s = time.perf_counter() - started
    return LoadFigures(rows, batch_s, naive_s)


def _per_symbol_weight(settings: Settings) -> dict[str, int]:
    """Weight per symbol of the call-per-symbol approach, per dataset."""
    one = {"symbol": "X"}
    return {
        "recent_trades": request_weight("/api/v3/trades", one),
        "order_book": depth_weight(settings.extract.depth_limit),
        "klines": request_weight("/api/v3/klines", one) * len(settings.extract.kline_intervals),
        "daily_ticker": request_weight("/api/v3/ticker/24hr", one),
        "latest_prices": request_weight("/api/v3/ticker/price", one),
    }


def bench_weight(settings: Settings,
                 symbol_counts: Sequence[int] = (10, 100)) -> list[WeightFigures]:
    """Weight of a first and a steady-state cycle for each symbol count, vs call-per-symbol."""
    market = Market(settings.simulator.seed, extra_symbols=max(symbol_counts))
    server = SimulatorServer(market, weight_limit=10**9).start()
    figures = []
    try:
        for count in symbol_counts:
            symbols = list(market.symbols)[:count]
            run_settings = settings.model_copy(update={
                "binance": settings.binance.model_copy(update={
                    "base_url": server.url, "symbols": symbols}),
                "extract": settings.extract.model_copy(update={
                    "datasets": list(DATASETS)})})
            client = BinanceClient(run_settings.binance, budget=WeightBudget(10**9))
            with scratch_schema(settings) as store:
                extractor = Extractor(run_settings, client=client, store=store)
                first = {r.dataset: r.weight for r in extractor.run_cycle()}
                steady = {r.dataset: r.weight for r in extractor.run_cycle()}
                extractor.close()
            per_symbol = _per_symbol_weight(run_settings)
            figures.append(WeightFigures(count, first, steady,
                                         {k: v * count for k, v in per_symbol.items()}))
    finally:
        server.stop()
    return figures
