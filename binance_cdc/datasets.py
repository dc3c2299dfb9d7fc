"""The five datasets, declared once.

The stream's envelope schemas, the extractor's row tuples and its value checks
and the connector's table list are derived from this module. What stays written
out by hand is checked against it: the tables sql/ creates
(tests/integration/test_postgres_schema.py: columns, types, nullability,
primary keys), the publication, the extractor's registry and defaults
(tests/unit/test_declared_once.py) and the tables cassandra/schema.cql creates
on the node (tests/integration/test_cassandra_schema.py: columns, CQL types,
partition and clustering keys).

Types are logical; each maps to exactly one type per system:

=========  ============  ==========  ======================================
kind       PostgreSQL    Cassandra   Debezium JSON (our connector config)
=========  ============  ==========  ======================================
text       text          text        string
decimal    numeric       decimal     string (decimal.handling.mode=string)
bigint     bigint        bigint      int64
int        integer       int         int32
boolean    boolean       boolean     boolean
timestamp  timestamptz   timestamp   ISO-8601 string (io.debezium.time.ZonedTimestamp)
=========  ============  ==========  ======================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "decimal", "bigint", "int", "boolean", "timestamp"]

POSTGRES_TYPES: dict[str, str] = {
    "text": "text", "decimal": "numeric", "bigint": "bigint", "int": "integer",
    "boolean": "boolean", "timestamp": "timestamp with time zone",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    signed: bool = False
    """Decimals only: the value may be negative (a change). Every other decimal is a price,
    quantity or volume, and the extractor rejects a response that holds a negative one."""

    def __post_init__(self) -> None:
        if self.signed and self.kind != "decimal":
            raise ValueError(f"column {self.name}: only a decimal column can be signed")


@dataclass(frozen=True)
class Dataset:
    """One replicated table: its columns, primary key and Binance endpoint."""

    name: str
    endpoint: str
    """The REST path the extractor loads it from (named in rejected-value errors)."""
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    partition_key: tuple[str, ...]
    """Cassandra partition key of the replica table (a prefix of primary_key)."""

    def __post_init__(self) -> None:
        names = self.column_names
        missing = [k for k in self.primary_key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: primary key columns {missing} are not declared")
        if self.primary_key[: len(self.partition_key)] != self.partition_key:
            raise ValueError(f"{self.name}: partition key must be a prefix of the primary key")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


def _cols(*spec: tuple[str, Kind] | tuple[str, Kind, bool] | Column) -> tuple[Column, ...]:
    return tuple(s if isinstance(s, Column) else Column(*s) for s in spec)


# /api/v3/trades: every trade of a symbol since the first poll (gaps backfilled); insert-only.
RECENT_TRADES = Dataset(
    name="recent_trades",
    endpoint="/api/v3/trades",
    columns=_cols(
        ("symbol", "text"), ("trade_id", "bigint"), ("price", "decimal"), ("qty", "decimal"),
        ("quote_qty", "decimal"), ("trade_time", "timestamp"), ("is_buyer_maker", "boolean"),
        ("is_best_match", "boolean"),
    ),
    primary_key=("symbol", "trade_id"),
    partition_key=("symbol", "trade_id"),
)

# /api/v3/depth: the current top-N price levels per side; levels are inserted, updated and deleted.
ORDER_BOOK = Dataset(
    name="order_book",
    endpoint="/api/v3/depth",
    columns=_cols(
        ("symbol", "text"), ("side", "text"), ("price", "decimal"), ("quantity", "decimal"),
        ("last_update_id", "bigint"), ("updated_at", "timestamp"),
    ),
    primary_key=("symbol", "side", "price"),
    partition_key=("symbol",),
)

# /api/v3/klines: candles per symbol and interval; the open candle is upserted until it closes.
KLINES = Dataset(
    name="klines",
    endpoint="/api/v3/klines",
    columns=_cols(
        ("symbol", "text"), ("interval", "text"), ("open_time", "timestamp"),
        ("close_time", "timestamp"), ("open", "decimal"), ("high", "decimal"), ("low", "decimal"),
        ("close", "decimal"), ("volume", "decimal"), ("quote_volume", "decimal"),
        ("trade_count", "bigint"), ("taker_buy_base_volume", "decimal"),
        ("taker_buy_quote_volume", "decimal"), ("is_closed", "boolean"),
    ),
    primary_key=("symbol", "interval", "open_time"),
    partition_key=("symbol", "interval"),
)

# /api/v3/ticker/24hr: rolling 24h statistics, one row per symbol, updated every poll.
DAILY_TICKER = Dataset(
    name="daily_ticker",
    endpoint="/api/v3/ticker/24hr",
    columns=_cols(
        ("symbol", "text"), Column("price_change", "decimal", signed=True),
        Column("price_change_percent", "decimal", signed=True),
        ("weighted_avg_price", "decimal"), ("prev_close_price", "decimal"),
        ("last_price", "decimal"), ("last_qty", "decimal"), ("bid_price", "decimal"),
        ("bid_qty", "decimal"), ("ask_price", "decimal"), ("ask_qty", "decimal"),
        ("open_price", "decimal"), ("high_price", "decimal"), ("low_price", "decimal"),
        ("volume", "decimal"), ("quote_volume", "decimal"), ("open_time", "timestamp"),
        ("close_time", "timestamp"), ("first_id", "bigint"), ("last_id", "bigint"),
        ("trade_count", "bigint"),
    ),
    primary_key=("symbol",),
    partition_key=("symbol",),
)

# /api/v3/ticker/price: the last price per symbol; written only when it changed.
LATEST_PRICES = Dataset(
    name="latest_prices",
    endpoint="/api/v3/ticker/price",
    columns=_cols(("symbol", "text"), ("price", "decimal"), ("updated_at", "timestamp")),
    primary_key=("symbol",),
    partition_key=("symbol",),
)

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (RECENT_TRADES, ORDER_BOOK, KLINES, DAILY_TICKER, LATEST_PRICES)
}

# Columns every Cassandra replica row carries besides the Postgres columns.
REPLICA_META_COLUMNS: tuple[Column, ...] = _cols(
    ("source_lsn", "bigint"),        # the change's WAL position; also its write timestamp
    ("source_ts", "timestamp"),      # commit time in Postgres (Debezium source.ts_ms)
    ("written_at", "timestamp"),     # when the stream wrote the row
)
