"""Per-minute trade metrics: the row of trade_metrics_1m, and writing it.

The stream's windowed aggregation (binance_cdc/stream/trade_minutes.py) hands
over, per symbol and minute, exact decimal sums; this module turns them into
the table's row (the VWAP by the one documented rounding rule, decimals without
padding zeros) so that `verify metrics` (binance_cdc/verify/trade_metrics.py)
computes the same row from a Postgres ``GROUP BY`` with the same code.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from binance_cdc.settings import CassandraSettings

log = logging.getLogger(__name__)

TABLE = "trade_metrics_1m"
WATERMARKS = "stream_watermarks"
VWAP_PLACES = Decimal("1e-8")
"""VWAP = quote_volume / volume, rounded half-even to 8 decimals (Binance's price precision)."""

COLUMNS = ("symbol", "minute", "open", "high", "low", "close", "volume", "quote_volume",
           "trade_count", "vwap", "taker_buy_volume", "taker_buy_quote_volume",
           "buyer_maker_volume", "first_trade_id", "last_trade_id")
"""The compared columns, in the table's order (updated_at is when the row was written)."""
KEY = ("symbol", "minute")


def metrics_query_name(query_name: str) -> str:
    """The streaming query's name (SPARK_QUERY_NAME.trade_metrics_1m), its stream_watermarks key."""
    return f"{query_name}.{TABLE}"


def plain(value: Decimal | None) -> Decimal | None:
    """A decimal without padding zeros: 67012.3400000000 -> 67012.34, 100.000 -> 100."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def vwap(quote_volume: Decimal, volume: Decimal) -> Decimal | None:
    """The volume-weighted average price of a minute, by the documented rule."""
    if not volume:
        return None
    with localcontext() as ctx:
        ctx.prec = 80  # exact enough for 38-digit sums, then rounded once
        return plain((quote_volume / volume).quantize(VWAP_PLACES, rounding=ROUND_HALF_EVEN))


def minute_row(sums: Mapping[str, Any]) -> dict[str, Any]:
    """One minute of one symbol from its sums (open, high, low, close, volume, quote_volume,
    trade_count, taker_buy_volume, taker_buy_quote_volume, first/last_trade_id)."""
    volume, quote = Decimal(sums["volume"]), Decimal(sums["quote_volume"])
    taker = Decimal(sums["taker_buy_volume"])
    minute = sums["minute"]
    if minute.tzinfo is None:
        minute = minute.replace(tzinfo=dt.timezone.utc)
    return {
        "symbol": sums["symbol"], "minute": minute,
        **{k: plain(Decimal(sums[k])) for k in ("open", "high", "low", "close")},
        "volume": plain(volume), "quote_volume": plain(quote),
        "trade_count": int(sums["trade_count"]), "vwap": vwap(quote, volume),
        "taker_buy_volume": plain(taker),
        "taker_buy_quote_volume": plain(Decimal(sums["taker_buy_quote_volume"])),
        "buyer_maker_volume": plain(volume - taker),
        "first_trade_id": int(sums["first_trade_id"]), "last_trade_id": int(sums["last_trade_id"]),
    }


@dataclass
class TradeMetricsWriter:
    """Writes minute rows and the query's watermark, on the session it is given."""

    cass: CassandraSettings
    session: Any

    def __post_init__(self) -> None:
        from cassandra import ConsistencyLevel

        level = ConsistencyLevel.name_to_value[self.cass.write_consistency]
        ks = self.cass.keyspace
        names = (*COLUMNS, "updated_at")
        self._insert = self.session.prepare(
            f"INSERT INTO {ks}.{TABLE} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})")
        self._insert.consistency_level = level
        self._watermark = self.session.prepare(
            f"INSERT INTO {ks}.{WATERMARKS} (query_name, watermark, recorded_at) VALUES (?, ?, ?)")
        self._watermark.consistency_level = level

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Minute rows, each replacing the minute's earlier row (the state holds all of it)."""
        from cassandra.concurrent import execute_concurrent_with_args

        now = dt.datetime.now(dt.timezone.utc)
        args = [(*(row[c] for c in COLUMNS), now) for row in rows]
        for ok, result in execute_concurrent_with_args(self.session, self._insert, args,
                                                       concurrency=16, raise_on_first_error=True):
            if not ok:  # pragma: no cover - raise_on_first_error raises instead
                raise result

    def record_watermark(self, query_name: str, watermark: dt.datetime) -> None:
        self.session.execute(self._watermark,
                             (query_name, watermark, dt.datetime.now(dt.timezone.utc)))
