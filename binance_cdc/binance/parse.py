"""REST payload -> row tuples, as pure functions.

Every function takes decoded JSON (``json.loads(..., parse_float=Decimal)``) and
returns tuples in exactly ``Dataset.column_names`` order (built by name through
:func:`row`, so the column list lives only in ``datasets.py``). Numbers may come
as strings or numbers; they become ``Decimal``/``int`` exactly or the function
raises :class:`PayloadError` naming the endpoint, symbol and field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_cdc.datasets import DAILY_TICKER, KLINES, LATEST_PRICES, RECENT_TRADES, Dataset
from binance_cdc.errors import PayloadError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
KLINE_FIELDS = 12


def row(dataset: Dataset, values: Mapping[str, object]) -> tuple[object, ...]:
    """``values`` as a tuple in the dataset's column order; every column exactly once."""
    names = dataset.column_names
    if len(values) != len(names) or any(n not in values for n in names):
        raise ValueError(f"{dataset.name}: row has columns {sorted(values)}, "
                         f"declared {list(names)}")
    return tuple(values[n] for n in names)


@dataclass(frozen=True)
class Where:
    """Where a value came from, for error messages."""

    endpoint: str
    symbol: str | None = None

    def fail(self, field_name: str, message: str) -> PayloadError:
        return PayloadError(message, endpoint=self.endpoint, symbol=self.symbol,
                            field=field_name)


def decimal_of(value: object, where: Where, name: str) -> Decimal:
    """An exact finite Decimal from a str-num, int or Decimal; never from float."""
    if isinstance(value, bool) or isinstance(value, float):
        raise where.fail(name, f"expected a decimal string, got {type(value).__name__} {value!r}")
    if isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip()) if value.strip() else Decimal("NaN")
        except InvalidOperation:
            raise where.fail(name, f"expected a decimal number, got {value!r}") from None
    else:
        raise where.fail(name, f"expected a decimal number, got {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise where.fail(name, f"expected a finite decimal number, got {value!r}")
    return result


def int_of(value: object, where: Where, name: str) -> int:
    """An integer from an int, an integral Decimal or a string of digits."""
    if isinstance(value, bool):
        raise where.fail(name, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, (str, Decimal)):
        number = decimal_of(value, where, name)
        if number == number.to_integral_value():
            return int(number)
    raise where.fail(name, f"expected an integer, got {type(value).__name__} {value!r}")


def bool_of(value: object, where: Where, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise where.fail(name, f"expected true or false, got {value!r}")


def time_of(value: object, where: Where, name: str) -> datetime:
    """A UTC datetime from epoch milliseconds (exact: no float division)."""
    ms = int_of(value, where, name)
    try:
        return EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        raise where.fail(name, f"timestamp {ms} ms is out of range") from None


def symbol_of(value: object, where: Where, name: str = "symbol") -> str:
    if isinstance(value, str) and value:
        return value
    raise where.fail(name, f"expected a symbol string, got {value!r}")


def _get(obj: object, key: str, where: Where) -> Any:
    if not isinstance(obj, Mapping):
        raise where.fail(key, f"expected a JSON object, got {type(obj).__name__}")
    if key not in obj:
        raise where.fail(key, "field is missing")
    return obj[key]


def _list(payload: object, where: Where, what: str) -> list[Any]:
    if not isinstance(payload, list):
        raise where.fail(what, f"expected a JSON array, got {type(payload).__name__}")
    return payload


# -- recent_trades ----------------------------------------------------------------------
def trade_rows(symbol: str, payload: object, *,
               endpoint: str = "/api/v3/trades") -> list[tuple[object, ...]]:
    """/trades or /historicalTrades -> recent_trades rows, ascending by trade id."""
    where = Where(endpoint, symbol)
    rows = []
    for i, item in enumerate(_list(payload, where, "[]")):
        w = Where(endpoint, symbol)
        rows.append(row(RECENT_TRADES, {
            "symbol": symbol,
            "trade_id": int_of(_get(item, "id", w), w, f"[{i}].id"),
            "price": decimal_of(_get(item, "price", w), w, f"[{i}].price"),
            "qty": decimal_of(_get(item, "qty", w), w, f"[{i}].qty"),
            "quote_qty": decimal_of(_get(item, "quoteQty", w), w, f"[{i}].quoteQty"),
            "trade_time": time_of(_get(item, "time", w), w, f"[{i}].time"),
            "is_buyer_maker": bool_of(_get(item, "isBuyerMaker", w), w, f"[{i}].isBuyerMaker"),
            "is_best_match": bool_of(_get(item, "isBestMatch", w), w, f"[{i}].isBestMatch"),
        }))
    id_pos = RECENT_TRADES.column_names.index("trade_id")
    rows.sort(key=lambda r: r[id_pos])  # type: ignore[arg-type, return-value]
    return rows


# -- order_book ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DepthSnapshot:
    """One /depth answer: the book id and quantity per (side, price)."""

    symbol: str
    last_update_id: int
    levels: dict[tuple[str, Decimal], Decimal] = field(default_factory=dict)


def depth_snapshot(symbol: str, payload: object, *,
                   endpoint: str = "/api/v3/depth") -> DepthSnapshot:
    """/depth -> the book as {(side, price): quantity}; zero quantities are no level."""
    where = Where(endpoint, symbol)
    book_id = int_of(_get(payload, "lastUpdateId", where), where, "lastUpdateId")
    levels: dict[tuple[str, Decimal], Decimal] = {}
    for key, side in (("bids", "bid"), ("asks", "ask")):
        for i, level in enumerate(_list(_get(payload, key, where), where, key)):
            name = f"{key}[{i}]"
            if not isinstance(level, list) or len(level) < 2:
                raise where.fail(name, f"expected [price, quantity], got {level!r}")
            price = decimal_of(level[0], where, name + "[0]")
            qty = decimal_of(level[1], where, name + "[1]")
            if (side, price) in levels:
                raise where.fail(name, f"price {level[0]} appears twice")
            if qty != 0:
                levels[(side, price)] = qty
    return DepthSnapshot(symbol, book_id, levels)


# -- klines -------------------------------------------------------------------------------
def kline_rows(symbol: str, interval: str, payload: object, server_time_ms: int, *,
               endpoint: str = "/api/v3/klines") -> list[tuple[object, ...]]:
    """/klines (12-element arrays) -> klines rows; closed when close_time < server time."""
    where = Where(endpoint, symbol)
    rows = []
    for i, k in enumerate(_list(payload, where, "[]")):
        if not isinstance(k, list) or len(k) < KLINE_FIELDS - 1:
            raise where.fail(f"[{i}]", f"expected a {KLINE_FIELDS}-element kline array, got {k!r}")
        p = f"[{i}]"
        close_ms = int_of(k[6], where, p + "[6] close time")
        rows.append(row(KLINES, {
            "symbol": symbol, "interval": interval,
            "open_time": time_of(k[0], where, p + "[0] open time"),
            "close_time": time_of(close_ms, where, p + "[6] close time"),
            "open": decimal_of(k[1], where, p + "[1] open"),
            "high": decimal_of(k[2], where, p + "[2] high"),
            "low": decimal_of(k[3], where, p + "[3] low"),
            "close": decimal_of(k[4], where, p + "[4] close"),
            "volume": decimal_of(k[5], where, p + "[5] volume"),
            "quote_volume": decimal_of(k[7], where, p + "[7] quote volume"),
            "trade_count": int_of(k[8], where, p + "[8] trades"),
            "taker_buy_base_volume": decimal_of(k[9], where, p + "[9] taker buy base volume"),
            "taker_buy_quote_volume": decimal_of(k[10], where, p + "[10] taker buy quote volume"),
            "is_closed": close_ms < server_time_ms,
        }))
    return rows


# -- daily_ticker -------------------------------------------------------------------------
_TICKER_DECIMALS = {
    "price_change": "priceChange", "price_change_percent": "priceChangePercent",
    "weighted_avg_price": "weightedAvgPrice", "prev_close_price": "prevClosePrice",
    "last_price": "lastPrice", "last_qty": "lastQty", "bid_price": "bidPrice",
    "bid_qty": "bidQty", "ask_price": "askPrice", "ask_qty": "askQty",
    "open_price": "openPrice", "high_price": "highPrice", "low_price": "lowPrice",
    "volume": "volume", "quote_volume": "quoteVolume",
}
_TICKER_INTS = {"first_id": "firstId", "last_id": "lastId", "trade_count": "count"}
_TICKER_TIMES = {"open_time": "openTime", "close_time": "closeTime"}


def _symbol_items(payload: object, endpoint: str) -> Iterator[tuple[str, Any, Where]]:
    """Each item of an array-form ticker answer with its symbol and error location."""
    for i, item in enumerate(_list(payload, Where(endpoint), "[]")):
        symbol = symbol_of(_get(item, "symbol", Where(endpoint)), Where(endpoint),
                           f"[{i}].symbol")
        yield symbol, item, Where(endpoint, symbol)


def ticker_24hr_rows(payload: object, *,
                     endpoint: str = "/api/v3/ticker/24hr") -> list[tuple[object, ...]]:
    """/ticker/24hr (FULL, array form) -> daily_ticker rows."""
    rows = []
    for symbol, item, where in _symbol_items(payload, endpoint):
        values: dict[str, object] = {"symbol": symbol}
        for column, key in _TICKER_DECIMALS.items():
            values[column] = decimal_of(_get(item, key, where), where, key)
        for column, key in _TICKER_INTS.items():
            values[column] = int_of(_get(item, key, where), where, key)
        for column, key in _TICKER_TIMES.items():
            values[column] = time_of(_get(item, key, where), where, key)
        rows.append(row(DAILY_TICKER, values))
    return rows


# -- latest_prices ------------------------------------------------------------------------
def price_rows(payload: object, updated_at: datetime, *,
               endpoint: str = "/api/v3/ticker/price") -> list[tuple[object, ...]]:
    """/ticker/price (array form) -> latest_prices rows stamped ``updated_at``."""
    rows = []
    for symbol, item, where in _symbol_items(payload, endpoint):
        rows.append(row(LATEST_PRICES, {
            "symbol": symbol, "price": decimal_of(_get(item, "price", where), where, "price"),
            "updated_at": updated_at,
        }))
    return rows


# -- exchangeInfo -------------------------------------------------------------------------
def exchange_symbols(payload: object, *,
                     endpoint: str = "/api/v3/exchangeInfo") -> dict[str, str]:
    """/exchangeInfo -> {symbol: status} (TRADING, BREAK, HALT...)."""
    where = Where(endpoint)
    result = {}
    for i, item in enumerate(_list(_get(payload, "symbols", where), where, "symbols")):
        symbol = symbol_of(_get(item, "symbol", where), where, f"symbols[{i}].symbol")
        status = _get(item, "status", Where(endpoint, symbol))
        result[symbol] = str(status)
    return result
