"""REST payload -> row tuples, as pure functions.

Every function takes decoded JSON (``json.loads(..., parse_float=Decimal)``) and
returns tuples in exactly ``Dataset.column_names`` order (built by name through
:func:`row`, so the column list lives only in ``datasets.py``). Numbers may come
as strings or numbers; they become ``Decimal``/``int`` exactly or the function
raises :class:`PayloadError` naming the endpoint, symbol and field.

Values are also checked against the declaration before any row leaves this
module (:func:`check_value`): a decimal column not declared ``signed`` holds a
price, quantity or volume, so a negative one is a :class:`RejectedValueError`;
so is a non-finite number, and a symbol in a multi-symbol answer that the
request did not ask for (or twice). The caller writes nothing of a load that fails.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_cdc.datasets import (
    DAILY_TICKER,
    KLINES,
    LATEST_PRICES,
    ORDER_BOOK,
    RECENT_TRADES,
    Dataset,
)
from binance_cdc.errors import PayloadError, RejectedValueError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
KLINE_FIELDS = 12


@dataclass(frozen=True)
class Where:
    """Where a value came from, for error messages."""

    endpoint: str
    symbol: str | None = None
    dataset: Dataset | None = None
    """The dataset the value is for, if any: a value it rules out is a RejectedValueError."""

    def fail(self, field_name: str, message: str) -> PayloadError:
        return PayloadError(message, endpoint=self.endpoint, symbol=self.symbol,
                            field=field_name)

    def reject(self, dataset: Dataset, field_name: str, value: object,
               message: str) -> RejectedValueError:
        return RejectedValueError(message, dataset=dataset.name, endpoint=self.endpoint,
                                  symbol=self.symbol, field=field_name, value=value)


def row(dataset: Dataset, values: Mapping[str, object], where: Where | None = None,
        item: str = "") -> tuple[object, ...]:
    """``values`` as a tuple in the dataset's column order; every column exactly once.

    Each value is checked with :func:`check_value`; ``where`` and ``item`` (the
    element's position in the answer, e.g. ``[3]``) locate a rejected one.
    """
    names = dataset.column_names
    if len(values) != len(names) or any(n not in values for n in names):
        raise ValueError(f"{dataset.name}: row has columns {sorted(values)}, "
                         f"declared {list(names)}")
    at = where or Where(dataset.endpoint, dataset=dataset)
    for name in _decimal_columns(dataset):
        check_value(dataset, name, values[name], at, f"{item}.{name}" if item else name)
    return tuple(values[n] for n in names)


@functools.cache
def _decimal_columns(dataset: Dataset) -> tuple[str, ...]:
    return tuple(c.name for c in dataset.columns if c.kind == "decimal")


def check_value(dataset: Dataset, column: str, value: object, where: Where,
                field_name: str) -> None:
    """Refuse a value the declaration rules out for ``dataset.column``.

    A decimal must be finite, and only a column declared ``signed`` (a change)
    may be negative: every other decimal is a price, quantity or volume.
    """
    declared = dataset.column(column)
    if declared.kind != "decimal" or not isinstance(value, Decimal):
        return
    if not value.is_finite():
        raise where.reject(dataset, field_name, value, f"{column} {value} is not a finite number")
    if value < 0 and not declared.signed:
        raise where.reject(dataset, field_name, value, f"{column} {value} is negative, which "
                           "a price, quantity or volume never is")


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
        if where.dataset is not None:
            raise where.reject(where.dataset, name, result, f"{value!r} is not a finite number")
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
    where = w = Where(endpoint, symbol, RECENT_TRADES)
    rows = []
    for i, item in enumerate(_list(payload, where, "[]")):
        rows.append(row(RECENT_TRADES, {
            "symbol": symbol,
            "trade_id": int_of(_get(item, "id", w), w, f"[{i}].id"),
            "price": decimal_of(_get(item, "price", w), w, f"[{i}].price"),
            "qty": decimal_of(_get(item, "qty", w), w, f"[{i}].qty"),
            "quote_qty": decimal_of(_get(item, "quoteQty", w), w, f"[{i}].quoteQty"),
            "trade_time": time_of(_get(item, "time", w), w, f"[{i}].time"),
            "is_buyer_maker": bool_of(_get(item, "isBuyerMaker", w), w, f"[{i}].isBuyerMaker"),
            "is_best_match": bool_of(_get(item, "isBestMatch", w), w, f"[{i}].isBestMatch"),
        }, where, f"[{i}]"))
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
    where = Where(endpoint, symbol, ORDER_BOOK)
    book_id = int_of(_get(payload, "lastUpdateId", where), where, "lastUpdateId")
    levels: dict[tuple[str, Decimal], Decimal] = {}
    for key, side in (("bids", "bid"), ("asks", "ask")):
        for i, level in enumerate(_list(_get(payload, key, where), where, key)):
            name = f"{key}[{i}]"
            if not isinstance(level, list) or len(level) < 2:
                raise where.fail(name, f"expected [price, quantity], got {level!r}")
            price = decimal_of(level[0], where, name + "[0]")
            qty = decimal_of(level[1], where, name + "[1]")
            check_value(ORDER_BOOK, "price", price, where, name + "[0]")
            check_value(ORDER_BOOK, "quantity", qty, where, name + "[1]")
            if (side, price) in levels:
                raise where.fail(name, f"price {level[0]} appears twice")
            if qty != 0:
                levels[(side, price)] = qty
    return DepthSnapshot(symbol, book_id, levels)


# -- klines -------------------------------------------------------------------------------
def kline_rows(symbol: str, interval: str, payload: object, server_time_ms: int, *,
               endpoint: str = "/api/v3/klines") -> list[tuple[object, ...]]:
    """/klines (12-element arrays) -> klines rows; closed when close_time < server time."""
    where = Where(endpoint, symbol, KLINES)
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
        }, where, p))
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


def _symbol_items(payload: object, endpoint: str, dataset: Dataset,
                  asked: Collection[str]) -> Iterator[tuple[str, Any, Where, str]]:
    """Each item of an array-form ticker answer: its symbol, error location and position.

    A symbol the request did not ask for, or one that comes twice, rejects the answer.
    """
    wanted, seen = set(asked), set()
    for i, item in enumerate(_list(payload, Where(endpoint), "[]")):
        symbol = symbol_of(_get(item, "symbol", Where(endpoint)), Where(endpoint),
                           f"[{i}].symbol")
        where = Where(endpoint, symbol, dataset)
        if symbol not in wanted:
            raise where.reject(dataset, f"[{i}].symbol", symbol,
                               f"symbol {symbol!r} was not asked for (asked: {_some(asked)})")
        if symbol in seen:
            raise where.reject(dataset, f"[{i}].symbol", symbol,
                               f"symbol {symbol!r} appears twice in the answer")
        seen.add(symbol)
        yield symbol, item, where, f"[{i}]"


def _some(names: Collection[str], shown: int = 10) -> str:
    listed = list(names)
    more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
    return ", ".join(listed[:shown]) + more


def ticker_24hr_rows(payload: object, *, asked: Collection[str],
                     endpoint: str = "/api/v3/ticker/24hr") -> list[tuple[object, ...]]:
    """/ticker/24hr (FULL, array form) for the symbols ``asked`` -> daily_ticker rows."""
    rows = []
    for symbol, item, where, at in _symbol_items(payload, endpoint, DAILY_TICKER, asked):
        values: dict[str, object] = {"symbol": symbol}
        for column, key in _TICKER_DECIMALS.items():
            values[column] = decimal_of(_get(item, key, where), where, f"{at}.{key}")
        for column, key in _TICKER_INTS.items():
            values[column] = int_of(_get(item, key, where), where, f"{at}.{key}")
        for column, key in _TICKER_TIMES.items():
            values[column] = time_of(_get(item, key, where), where, f"{at}.{key}")
        rows.append(row(DAILY_TICKER, values, where, at))
    return rows


# -- latest_prices ------------------------------------------------------------------------
def price_rows(payload: object, updated_at: datetime, *, asked: Collection[str],
               endpoint: str = "/api/v3/ticker/price") -> list[tuple[object, ...]]:
    """/ticker/price (array form) for the symbols ``asked`` -> latest_prices rows."""
    rows = []
    for symbol, item, where, at in _symbol_items(payload, endpoint, LATEST_PRICES, asked):
        rows.append(row(LATEST_PRICES, {
            "symbol": symbol,
            "price": decimal_of(_get(item, "price", where), where, f"{at}.price"),
            "updated_at": updated_at,
        }, where, at))
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
