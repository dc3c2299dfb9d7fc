"""`verify metrics`: trade_metrics_1m against Postgres and against the exchange's klines.

Two comparisons over the last ``minutes`` whole minutes (the current minute is
still filling, so it is left out):

1. **Postgres**: every (symbol, minute) must equal what a ``GROUP BY`` over
   binance.recent_trades gives, computed into a row by the same code the stream
   uses (binance_cdc/sink/trade_metrics.py: VWAP rule, decimals by value).
   Trades Cassandra cannot hold (NaN/Infinity, infinite times) are left out, as
   the stream sends them to dead_letters. A trade that reached the stream after
   the watermark closed its minute shows here as a difference: it is one.
2. **Klines**: for minutes in which Postgres holds every trade of the symbol
   (trade ids run without a hole through the minute and join the neighbouring
   minutes' ids), the exchange's closed 1m kline (binance.klines) must have the
   same open, high, low, close, volume, quote volume, trade count and taker-buy
   volumes: Binance builds its klines from its trades.

Differences are reported as ``verify`` reports them (binance_cdc/verify/result.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

from binance_cdc.errors import BinanceCdcError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.trade_metrics import (
    COLUMNS,
    KEY,
    TABLE,
    WATERMARKS,
    metrics_query_name,
    minute_row,
    plain,
)
from binance_cdc.verify.result import RowDifference, TableDiff, VerifyResult

log = logging.getLogger(__name__)

KLINES_CHECK = "klines_1m"
"""The name the kline comparison is reported under."""
SAMPLES = 10
# trade_metrics_1m column -> binance.klines column, for the columns a kline has.
KLINE_COLUMNS = {"open": "open", "high": "high", "low": "low", "close": "close",
                 "volume": "volume", "quote_volume": "quote_volume", "trade_count": "trade_count",
                 "taker_buy_volume": "taker_buy_base_volume",
                 "taker_buy_quote_volume": "taker_buy_quote_volume"}

_FINITE = " AND ".join(f"{c}::text NOT IN ('NaN', 'Infinity', '-Infinity')"
                       for c in ("price", "qty", "quote_qty")) + " AND isfinite(trade_time)"
# One row per symbol and minute, with the stream's definitions; ``complete``: the
# minute's trade ids have no hole and join its neighbours' (previous minute's last id
# + 1, next minute's first id - 1), so no trade of it is missing from Postgres.
GROUP_BY_MINUTE = f"""
WITH minutes AS (
    SELECT symbol, date_trunc('minute', trade_time AT TIME ZONE 'UTC') AS minute,
           (array_agg(price ORDER BY trade_id))[1] AS open, max(price) AS high,
           min(price) AS low, (array_agg(price ORDER BY trade_id DESC))[1] AS close,
           sum(qty) AS volume, sum(quote_qty) AS quote_volume, count(*) AS trade_count,
           coalesce(sum(qty) FILTER (WHERE NOT is_buyer_maker), 0) AS taker_buy_volume,
           coalesce(sum(quote_qty) FILTER (WHERE NOT is_buyer_maker), 0)
               AS taker_buy_quote_volume,
           min(trade_id) AS first_trade_id, max(trade_id) AS last_trade_id
    FROM {{schema}}.recent_trades
    WHERE trade_time >= %(start)s - interval '1 minute' AND trade_time < %(end)s
      + interval '1 minute' AND {_FINITE} {{symbols}}
    GROUP BY 1, 2)
SELECT *, last_trade_id - first_trade_id + 1 = trade_count
          AND lag(last_trade_id) OVER w = first_trade_id - 1
          AND lead(first_trade_id) OVER w = last_trade_id + 1 AS complete
FROM minutes WINDOW w AS (PARTITION BY symbol ORDER BY minute)
"""
CLOSED_KLINES = """
SELECT symbol, open_time AT TIME ZONE 'UTC' AS minute, {columns}
FROM {schema}.klines
WHERE interval = '1m' AND is_closed AND open_time >= %(start)s AND open_time < %(end)s {symbols}
"""


def verify_metrics(settings: Settings, *, minutes: int = 60,
                   symbols: Sequence[str] | None = None, wait_s: float = 0.0,
                   interval_s: float = 2.0) -> VerifyResult:
    """Compare the last ``minutes`` whole minutes; again until equal or ``wait_s`` passed."""
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            tables = _compare(settings, minutes, symbols)
        except BinanceCdcError as exc:
            if not exc.retryable or time.monotonic() + interval_s > started + wait_s:
                tables = (TableDiff(TABLE, 0, 0, 0, 0, 0, kind="query", error=str(exc)),
                          TableDiff(KLINES_CHECK, 0, 0, 0, 0, 0, kind="query", error=str(exc)))
                break
            time.sleep(interval_s)
            continue
        if all(t.matches for t in tables) or time.monotonic() + interval_s > started + wait_s:
            break
        log.info("attempt %d: trade metrics differ; checking again in %.0fs", attempts, interval_s)
        time.sleep(interval_s)
    return VerifyResult(tables, attempts=attempts, elapsed_s=time.monotonic() - started,
                        symbols=tuple(symbols) if symbols else None)


def watermark(settings: Settings) -> dt.datetime | None:
    """The metrics query's last recorded watermark: minutes that ended by then are closed."""
    ks = settings.cassandra.keyspace
    with cassandra_session(settings.cassandra) as session:
        row = session.execute(f"SELECT watermark FROM {ks}.{WATERMARKS} WHERE query_name = %s",
                              (metrics_query_name(settings.spark.query_name),)).one()
    return None if row is None or row.watermark is None else \
        row.watermark.replace(tzinfo=dt.timezone.utc)


def _window(minutes: int) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    return now - dt.timedelta(minutes=minutes), now


def _compare(settings: Settings, minutes: int,
             symbols: Sequence[str] | None) -> tuple[TableDiff, TableDiff]:
    start, end = _window(minutes)
    began = time.monotonic()
    expected, complete, klines = _postgres(settings, start, end, symbols)
    found = _cassandra(settings, start, end, symbols, {s for s, _ in expected})
    seconds = time.monotonic() - began
    against_postgres = _diff(TABLE, expected, found, COLUMNS, seconds)
    # The klines check: only minutes we can prove complete, and only the kline's columns.
    ours = {k: found[k] for k in complete if k in found and k in klines}
    kline_rows = {k: {**{c: klines[k][c] for c in KLINE_COLUMNS}, "symbol": k[0], "minute": k[1]}
                  for k in ours}
    against_klines = _diff(KLINES_CHECK, kline_rows, ours, (*KEY, *KLINE_COLUMNS), seconds,
                           only_common=True)
    return against_postgres, against_klines


def _postgres(settings: Settings, start: dt.datetime, end: dt.datetime,
              symbols: Sequence[str] | None) -> tuple[dict, set, dict]:
    schema = settings.postgres.schema_name
    where = "AND symbol = ANY(%(symbols)s)" if symbols else ""
    params: dict[str, Any] = {"start": start, "end": end, "symbols": list(symbols or ())}
    expected: dict[tuple, dict[str, Any]] = {}
    complete: set[tuple] = set()
    klines: dict[tuple, dict[str, Any]] = {}
    with connect(settings.postgres) as conn:
        cursor = conn.execute(GROUP_BY_MINUTE.format(schema=schema, symbols=where), params)
        names = [c.name for c in cursor.description or ()]
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            minute = row["minute"].replace(tzinfo=dt.timezone.utc)
            if not start <= minute < end:
                continue  # read only to know the neighbouring minutes' trade ids
            key = (row["symbol"], minute)
            expected[key] = minute_row({**row, "minute": minute})
            if row["complete"]:
                complete.add(key)
        columns = ", ".join(KLINE_COLUMNS.values())
        cursor = conn.execute(CLOSED_KLINES.format(schema=schema, columns=columns, symbols=where),
                              params)
        for values in cursor:
            symbol, minute, *rest = values
            klines[(symbol, minute.replace(tzinfo=dt.timezone.utc))] = {
                ours: plain(v) if ours != "trade_count" else v
                for ours, v in zip(KLINE_COLUMNS, rest, strict=True)}
    return expected, complete, klines


def _cassandra(settings: Settings, start: dt.datetime, end: dt.datetime,
               symbols: Sequence[str] | None, known: set[str]) -> dict[tuple, dict[str, Any]]:
    cass = settings.cassandra
    found: dict[tuple, dict[str, Any]] = {}
    table = f"{cass.keyspace}.{TABLE}"
    with cassandra_session(cass) as session:
        names = set(symbols or ()) or known | {
            r.symbol for r in session.execute(f"SELECT DISTINCT symbol FROM {table}")}
        select = session.prepare(f"SELECT {', '.join(COLUMNS)} FROM {table} "
                                 "WHERE symbol = ? AND minute >= ? AND minute < ?")
        for symbol in sorted(names):
            for row in session.execute(select, (symbol, start, end)):
                values = row._asdict()
                values["minute"] = values["minute"].replace(tzinfo=dt.timezone.utc)
                found[(symbol, values["minute"])] = {
                    c: plain(v) if c in _DECIMALS else v for c, v in values.items()}
    return found


_DECIMALS = frozenset(COLUMNS) - {"symbol", "minute", "trade_count", "first_trade_id",
                                  "last_trade_id"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _diff(table: str, expected: dict[tuple, dict], found: dict[tuple, dict],
          columns: Sequence[str], seconds: float, *, only_common: bool = False) -> TableDiff:
    missing = [] if only_common else sorted(k for k in expected if k not in found)
    extra = [] if only_common else sorted(k for k in found if k not in expected)
    different = sorted(k for k in expected if k in found
                       and any(expected[k][c] != found[k][c] for c in columns))
    samples: list[RowDifference] = []

    def key(k: tuple) -> dict[str, str | None]:
        return {"symbol": k[0], "minute": _text(k[1])}

    for k in missing[:SAMPLES]:
        samples.append(RowDifference("missing", key(k),
                                     {c: (_text(expected[k][c]), None) for c in columns}))
    for k in extra[:SAMPLES]:
        samples.append(RowDifference("extra", key(k),
                                     {c: (None, _text(found[k][c])) for c in columns}))
    for k in different[:SAMPLES]:
        samples.append(RowDifference("different", key(k), {
            c: (_text(expected[k][c]), _text(found[k][c])) for c in columns
            if expected[k][c] != found[k][c]}))
    return TableDiff(table, len(expected), len(found), len(missing), len(extra), len(different),
                     kind="query", source="recent_trades" if table == TABLE else "klines",
                     samples=tuple(samples), seconds=seconds)
