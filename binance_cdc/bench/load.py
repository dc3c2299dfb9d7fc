"""A load generator for the whole pipeline: a mix of inserts, updates and
deletes committed to the binance tables at a set rate, or as fast as Postgres
takes them.

Each transaction holds ``batch`` changes: new trades (inserts), new prices for
a pool of bench symbols (updates) and deletes of the oldest bench trades, in
the proportions of :class:`Mix`. Every row belongs to symbols of this run
only, so a run never touches real data and can be measured on its own.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from binance_cdc.errors import StoreError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

PRICE_SYMBOLS = 20


@dataclass(frozen=True)
class Mix:
    inserts: float = 0.7
    updates: float = 0.2
    deletes: float = 0.1

    def split(self, batch: int) -> tuple[int, int, int]:
        updates = round(batch * self.updates)
        deletes = round(batch * self.deletes)
        return batch - updates - deletes, updates, deletes


@dataclass
class LoadResult:
    """What the generator committed."""

    run_id: str
    trade_symbol: str
    price_symbols: list[str]
    trade_time: dt.datetime
    """Every bench trade has this time, so all of them sit in one trades_by_day partition."""
    target_rate: float | None
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    first_commit_ms: int = 0
    last_commit_ms: int = 0
    final_prices: dict[str, Decimal] = field(default_factory=dict)
    alive_trades: int = 0

    @property
    def changes(self) -> int:
        return self.inserts + self.updates + self.deletes

    @property
    def commit_s(self) -> float:
        return max(self.last_commit_ms - self.first_commit_ms, 1) / 1000

    @property
    def committed_per_s(self) -> float:
        return self.changes / self.commit_s


def new_run(target_rate: float | None) -> LoadResult:
    run_id = uuid.uuid4().hex[:8].upper()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return LoadResult(run_id, f"LOAD{run_id}", [f"LOAD{run_id}P{i:02d}" for i in range(PRICE_SYMBOLS)],
                      now, target_rate)


def generate(settings: Settings, result: LoadResult, *, duration_s: float, batch: int = 50,
             mix: Mix = Mix(), stop: threading.Event | None = None) -> LoadResult:
    """Commit changes for ``duration_s`` at ``result.target_rate`` changes/s (None: max),
    or until ``stop`` is set."""
    import psycopg

    schema = settings.postgres.schema_name
    inserts_per, updates_per, deletes_per = mix.split(batch)
    next_trade, oldest_alive = 0, 0
    tick = 0
    try:
        with connect(settings.postgres, autocommit=False) as conn:
            with conn.transaction():
                conn.cursor().executemany(
                    f"INSERT INTO {schema}.latest_prices VALUES (%s, 1, now()) "
                    "ON CONFLICT (symbol) DO NOTHING", [(s,) for s in result.price_symbols])
            started = time.monotonic()
            result.first_commit_ms = int(time.time() * 1000)
            while time.monotonic() - started < duration_s and not (stop and stop.is_set()):
                tick += 1
                trades = [(result.trade_symbol, next_trade + i, Decimal(tick % 1000 + 1000) / 10,
                           Decimal("0.001"), Decimal("1.5"), result.trade_time, True, True)
                          for i in range(inserts_per)]
                next_trade += inserts_per
                prices = [(Decimal(tick * batch + i) / 100, result.price_symbols[(tick + i) %
                                                                               PRICE_SYMBOLS])
                          for i in range(updates_per)]
                doomed = list(range(oldest_alive, min(oldest_alive + deletes_per, next_trade)))
                oldest_alive += len(doomed)
                with conn.transaction():
                    cur = conn.cursor()
                    cur.executemany(f"INSERT INTO {schema}.recent_trades VALUES "
                                    "(%s, %s, %s, %s, %s, %s, %s, %s)", trades)
                    cur.executemany(f"UPDATE {schema}.latest_prices SET price = %s, "
                                    "updated_at = now() WHERE symbol = %s", prices)
                    if doomed:
                        cur.execute(f"DELETE FROM {schema}.recent_trades WHERE symbol = %s "
                                    "AND trade_id = ANY(%s)", (result.trade_symbol, doomed))
                result.inserts += len(trades)
                result.updates += len(prices)
                result.deletes += len(doomed)
                for price, symbol in prices:
                    result.final_prices[symbol] = price
                if result.target_rate:
                    due = started + result.changes / result.target_rate
                    time.sleep(max(0.0, due - time.monotonic()))
            result.last_commit_ms = int(time.time() * 1000)
    except psycopg.Error as exc:
        raise StoreError(f"the load generator's transaction failed: {exc}", retryable=True) from exc
    result.alive_trades = next_trade - oldest_alive
    log.info("load %s: %d changes in %.1fs (%.0f/s)", result.run_id, result.changes,
             result.commit_s, result.committed_per_s)
    return result


def cleanup(settings: Settings, result: LoadResult) -> None:
    """Delete the run's rows (their deletes flow through the pipeline too)."""
    schema = settings.postgres.schema_name
    with connect(settings.postgres) as conn:
        conn.execute(f"DELETE FROM {schema}.recent_trades WHERE symbol = %s",
                     (result.trade_symbol,))
        conn.execute(f"DELETE FROM {schema}.latest_prices WHERE symbol = ANY(%s)",
                     (result.price_symbols,))
