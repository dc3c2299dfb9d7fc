"""binance.live_trade_progress: per symbol, the last trade id known complete and the known gaps.

Written in the same transaction as the trades it covers (:func:`save`), so after
a crash the stored progress never claims a trade that is not stored. The table
is created from ``sql/04_live_trades.sql`` (:func:`ensure_table`), the same file
``stack up`` applies.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from binance_cdc.extract.live.tracker import Gap
from binance_cdc.postgres.schema import SQL_DIR
from binance_cdc.postgres.store import PostgresStore

TABLE = "live_trade_progress"
DDL_FILE = SQL_DIR / "04_live_trades.sql"


def ensure_table(store: PostgresStore) -> None:
    """Create the table if this database predates it (idempotent)."""
    ddl = DDL_FILE.read_text(encoding="utf-8")
    with store.transaction() as cur:
        # The file is psql's (binance-cdc applies it with -v schema=...): fill in the
        # one variable it uses the way psql's :"schema" does, as a quoted identifier.
        cur.execute(ddl.replace(':"schema"', sql.Identifier(store.schema).as_string(cur)))


def load(store: PostgresStore, symbols: list[str]) -> dict[str, tuple[int, list[Gap]]]:
    """{symbol: (last complete id, known gaps)} of the symbols that have progress."""
    rows = store.query(sql.SQL("SELECT symbol, last_complete_id, known_gaps FROM {} "
                               "WHERE symbol = ANY(%s)").format(store.table(TABLE)), (symbols,))
    return {symbol: (int(last), [(int(a), int(b)) for a, b in gaps])
            for symbol, last, gaps in rows}


def save(cur: psycopg.Cursor[Any], store: PostgresStore,
         progress: list[tuple[str, int, list[Gap]]]) -> None:
    """Upsert each (symbol, last complete id, known gaps) inside the caller's transaction."""
    if not progress:
        return
    cur.executemany(sql.SQL(
        "INSERT INTO {} (symbol, last_complete_id, known_gaps, updated_at) "
        "VALUES (%s, %s, %s, now()) ON CONFLICT (symbol) DO UPDATE SET "
        "last_complete_id = excluded.last_complete_id, known_gaps = excluded.known_gaps, "
        "updated_at = excluded.updated_at").format(store.table(TABLE)),
        [(symbol, last, Jsonb([list(g) for g in gaps])) for symbol, last, gaps in progress])
