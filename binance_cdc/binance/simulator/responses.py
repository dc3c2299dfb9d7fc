"""JSON bodies with Binance's real shapes (numbers as strings, klines as 12-element arrays)."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from binance_cdc.binance.simulator.market import (
    DAY_MS,
    INTERVAL_MINUTES,
    MINUTE_MS,
    Market,
    SymbolMarket,
    fmt,
)
from binance_cdc.binance.weights import WEIGHT_LIMIT_PER_MINUTE


def trades(m: SymbolMarket, limit: int, from_id: int | None = None) -> list[dict[str, Any]]:
    """/trades (newest ``limit``) or /historicalTrades (from ``from_id`` on), oldest first."""
    if from_id is None:
        chosen = list(itertools.islice(m.trades, max(len(m.trades) - limit, 0), None)) \
            if limit else []
    else:
        start = m.trade_index(from_id)
        chosen = list(itertools.islice(m.trades, start, start + limit))
    return [{"id": tid, "price": fmt(m.p(price)), "qty": fmt(m.q(lots)),
             "quoteQty": fmt(m.quote(price * lots)), "time": t_ms,
             "isBuyerMaker": maker, "isBestMatch": True}
            for tid, price, lots, t_ms, maker in chosen]


def trade_event(m: SymbolMarket, trade: tuple[int, int, int, int, bool],
                event_ms: int) -> dict[str, Any]:
    """A ``<symbol>@trade`` stream payload of one trade of the same log /trades reads."""
    tid, price, lots, t_ms, maker = trade
    return {"e": "trade", "E": event_ms, "s": m.spec.symbol, "t": tid, "p": fmt(m.p(price)),
            "q": fmt(m.q(lots)), "T": t_ms, "m": maker, "M": True}


def depth(m: SymbolMarket, limit: int) -> dict[str, Any]:
    bids = sorted((p for side, p in m.book if side == "bid"), reverse=True)[:limit]
    asks = sorted(p for side, p in m.book if side == "ask")[:limit]
    return {"lastUpdateId": m.book_id,
            "bids": [[fmt(m.p(p)), fmt(m.q(m.book[("bid", p)]))] for p in bids],
            "asks": [[fmt(m.p(p)), fmt(m.q(m.book[("ask", p)]))] for p in asks]}


def _prev_close(m: SymbolMarket, minute: int) -> int:
    for back in range(1, 10_000):
        candle = m.candles.get(minute - back * MINUTE_MS)
        if candle is not None:
            return candle.close
        if minute - back * MINUTE_MS < m.history_start_ms:
            break
    return m.price


def klines(m: SymbolMarket, interval: str, limit: int, start_ms: int | None,
           end_ms: int | None) -> list[list[Any]]:
    """Candles of ``interval`` from 1m buckets; the last one may still be open."""
    iv = INTERVAL_MINUTES[interval] * MINUTE_MS
    now = int(m.now_ms)
    first_open = m.history_start_ms // iv * iv
    last_open = now // iv * iv
    if end_ms is not None:
        last_open = min(last_open, end_ms // iv * iv)
    if start_ms is not None:
        opens = range(max(first_open, -(-start_ms // iv) * iv), last_open + 1, iv)[:limit]
    else:
        opens = range(first_open, last_open + 1, iv)[-limit:] if limit else range(0)
    out = []
    close = _prev_close(m, opens[0]) if opens else m.price
    for open_ms in opens:
        agg = None
        for minute in range(open_ms, open_ms + iv, MINUTE_MS):
            if minute > now:
                break
            c = m.candle_at(minute, close)
            close = c.close
            if agg is None:
                agg = [c.open, c.high, c.low, c.close, c.lots, c.quote_units, c.count,
                       c.taker_lots, c.taker_quote_units]
            else:
                agg[1], agg[2], agg[3] = max(agg[1], c.high), min(agg[2], c.low), c.close
                for i in range(4, 9):
                    agg[i] += (c.lots, c.quote_units, c.count, c.taker_lots,
                               c.taker_quote_units)[i - 4]
        assert agg is not None
        out.append([open_ms, fmt(m.p(agg[0])), fmt(m.p(agg[1])), fmt(m.p(agg[2])),
                    fmt(m.p(agg[3])), fmt(m.q(agg[4])), open_ms + iv - 1,
                    fmt(m.quote(agg[5])), agg[6], fmt(m.q(agg[7])), fmt(m.quote(agg[8])), "0"])
    return out


def ticker_24hr(m: SymbolMarket) -> dict[str, Any]:
    now = int(m.now_ms)
    first_minute = (now - DAY_MS) // MINUTE_MS * MINUTE_MS
    prev = _prev_close(m, first_minute)
    open_price, high, low, close, lots, units, count = prev, prev, prev, prev, 0, 0, 0
    first_id = last_id = -1
    for minute in range(first_minute, now + 1, MINUTE_MS):
        c = m.candles.get(minute)
        if c is None:
            continue
        if count == 0 and c.count:
            open_price, high, low = c.open, c.high, c.low
        high, low, close = max(high, c.high), min(low, c.low), c.close
        lots, units, count = lots + c.lots, units + c.quote_units, count + c.count
        if c.count:
            first_id = c.first_id if first_id < 0 else first_id
            last_id = c.last_id
    last_qty = m.q(m.trades[-1][2]) if m.trades else Decimal(0)
    best_bid = max((p for s, p in m.book if s == "bid"), default=0)
    best_ask = min((p for s, p in m.book if s == "ask"), default=0)
    with localcontext() as ctx:
        ctx.prec = 60
        volume, quote = m.q(lots), m.quote(units)
        weighted = (quote / volume) if volume else Decimal(0)
        change = m.p(close) - m.p(open_price)
        pct = (change * 100 / m.p(open_price)) if open_price else Decimal(0)
    return {
        "symbol": m.spec.symbol, "priceChange": fmt(change),
        "priceChangePercent": str(pct.quantize(Decimal("0.001"), ROUND_HALF_EVEN)),
        "weightedAvgPrice": fmt(weighted.quantize(Decimal("1E-8"), ROUND_HALF_EVEN)),
        "prevClosePrice": fmt(m.p(prev)), "lastPrice": fmt(m.p(close)), "lastQty": fmt(last_qty),
        "bidPrice": fmt(m.p(best_bid)), "bidQty": fmt(m.q(m.book.get(("bid", best_bid), 0))),
        "askPrice": fmt(m.p(best_ask)), "askQty": fmt(m.q(m.book.get(("ask", best_ask), 0))),
        "openPrice": fmt(m.p(open_price)), "highPrice": fmt(m.p(high)), "lowPrice": fmt(m.p(low)),
        "volume": fmt(volume), "quoteVolume": fmt(quote),
        "openTime": now - DAY_MS, "closeTime": now,
        "firstId": first_id, "lastId": last_id, "count": count,
    }


def price(m: SymbolMarket) -> dict[str, Any]:
    return {"symbol": m.spec.symbol, "price": fmt(m.p(m.price))}


def exchange_info(market: Market, symbols: list[str], weight_limit: int) -> dict[str, Any]:
    return {
        "timezone": "UTC", "serverTime": market.now_ms(),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": weight_limit or WEIGHT_LIMIT_PER_MINUTE},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
             "limit": 300000}],
        "exchangeFilters": [],
        "symbols": [_symbol_info(market.symbols[s]) for s in symbols],
    }


def _symbol_info(m: SymbolMarket) -> dict[str, Any]:
    spec = m.spec
    quote_asset = "USDT" if "USDT" in spec.symbol else "BTC"
    base_asset = spec.symbol.split(quote_asset)[0] or spec.symbol
    return {
        "symbol": spec.symbol, "status": "TRADING", "baseAsset": base_asset,
        "baseAssetPrecision": 8, "quoteAsset": quote_asset, "quotePrecision": 8,
        "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": fmt(spec.tick),
             "maxPrice": fmt(Decimal(1_000_000)), "tickSize": fmt(spec.tick)},
            {"filterType": "LOT_SIZE", "minQty": fmt(spec.step),
             "maxQty": fmt(Decimal(9_000_000_000)), "stepSize": fmt(spec.step)}],
        "permissions": [], "permissionSets": [["SPOT"]],
    }
