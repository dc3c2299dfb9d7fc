"""Stream names, URLs and incoming frames of Binance's WebSocket market streams, as pure functions.

A combined stream (``/stream?streams=a/b``) wraps every event as
``{"stream": "<name>", "data": <payload>}``. Besides ``<symbol>@trade`` events
the socket carries replies to our requests (``{"result": ..., "id": ...}``),
errors (``{"error": {...}, "id": ...}``) and ``serverShutdown`` notices.
:func:`decode` sorts a raw frame into one of those or a :class:`Skip` with the
reason, and a trade into a ``recent_trades`` row built by the REST parser's
helpers, so both paths produce identical rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, Literal
from urllib.parse import unquote

from binance_cdc.binance.parse import Where, bool_of, decimal_of, int_of, row, symbol_of, time_of
from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.errors import PayloadError

TRADE_SUFFIX = "@trade"
TRADE_FIELDS = ("s", "t", "p", "q", "T", "m", "E")
QUOTE_PLACES = Decimal("1E-8")
"""REST's quoteQty is a str-num with 8 decimals; the stream has no quote field, so it is
price x qty at that precision (exact for every symbol whose tick x step has <= 8 decimals)."""
TEXT_IN_LOG = 300
_DECODER = json.JSONDecoder(parse_float=Decimal)  # numbers never pass through a float


def trade_stream(symbol: str) -> str:
    """``BTCUSDT`` -> ``btcusdt@trade`` (stream names are lowercase)."""
    return symbol.lower() + TRADE_SUFFIX


def combined_url(streams_url: str, streams: list[str]) -> str:
    """The combined-stream URL carrying ``streams`` (the client percent-encodes non-ASCII)."""
    return f"{streams_url}?streams={'/'.join(streams)}"


def split_streams(streams: list[str], per_connection: int, url_chars: int) -> list[
        tuple[list[str], list[list[str]]]]:
    """Streams per connection: those named in the URL and those to SUBSCRIBE, in batches.

    At most ``per_connection`` streams share a connection; the URL names as many as
    fit in ``url_chars`` (servers cap the request line) and the rest are subscribed
    with one message per batch of the same size, so no stream ever needs a message
    of its own.
    """
    plans = []
    for start in range(0, len(streams), max(1, per_connection)):
        chunk = streams[start:start + per_connection]
        in_url: list[str] = []
        length = 0
        for stream in chunk:
            if in_url and length + len(stream) + 1 > url_chars:
                break
            in_url.append(stream)
            length += len(stream) + 1
        rest = chunk[len(in_url):]
        batch = max(1, len(in_url))
        plans.append((in_url, [rest[i:i + batch] for i in range(0, len(rest), batch)]))
    return plans


def subscribe_message(streams: list[str], request_id: int) -> str:
    return json.dumps({"method": "SUBSCRIBE", "params": streams, "id": request_id})


@dataclass(frozen=True)
class Trade:
    """One trade event: its recent_trades row and the stream's event time (epoch ms)."""

    symbol: str
    trade_id: int
    event_ms: int
    row: tuple[object, ...]


@dataclass(frozen=True)
class Reply:
    """The answer to one of our requests (SUBSCRIBE...), or an error the server sent."""

    request_id: object
    error: str | None = None


@dataclass(frozen=True)
class Shutdown:
    """``serverShutdown``: the server is about to close this connection; reconnect now."""


SkipReason = Literal["malformed", "unknown_stream", "unexpected_event"]


@dataclass(frozen=True)
class Skip:
    """A frame we cannot use: why, and its text (truncated) for the log."""

    reason: SkipReason
    detail: str
    text: str
    symbol: str | None = None
    trade_id: int | None = None
    """Set when a subscribed trade is unreadable but its id is: the id still exists."""


Message = Trade | Reply | Shutdown | Skip


def decode(text: str | bytes, subscribed: dict[str, str]) -> Message:
    """Classify one frame of a combined stream; ``subscribed`` maps stream name -> symbol."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    shown = text if len(text) <= TEXT_IN_LOG else text[:TEXT_IN_LOG] + "..."
    try:
        body = _DECODER.decode(text)
    except ValueError as exc:
        return Skip("malformed", f"not JSON ({exc})", shown)
    if not isinstance(body, dict):
        return Skip("malformed", f"expected a JSON object, got {type(body).__name__}", shown)
    if "stream" in body and "data" in body:
        return _event(body["stream"], body["data"], subscribed, shown)
    if "error" in body:
        return Reply(body.get("id"), error=json.dumps(body["error"], default=str))
    if "result" in body and "id" in body:
        return Reply(body["id"])
    if body.get("e") == "serverShutdown":
        return Shutdown()
    return Skip("malformed", "neither a combined-stream event nor a reply", shown)


def _event(stream: object, data: object, subscribed: dict[str, str], shown: str) -> Message:
    if not isinstance(stream, str):
        return Skip("malformed", f"stream is {stream!r}, not a name", shown)
    if stream.endswith("serverShutdown") or (isinstance(data, dict)
                                             and data.get("e") == "serverShutdown"):
        return Shutdown()
    name = unquote(stream)
    symbol = subscribed.get(name)
    if symbol is None:
        return Skip("unknown_stream", f"stream {name!r} was not subscribed", shown)
    if not isinstance(data, dict) or data.get("e") != "trade":
        kind = data.get("e") if isinstance(data, dict) else type(data).__name__
        return Skip("unexpected_event", f"{kind!r} on {name}", shown)
    try:
        return trade(symbol, data)
    except PayloadError as exc:
        trade_id = data.get("t")
        known = trade_id if isinstance(trade_id, int) and not isinstance(trade_id, bool) else None
        return Skip("malformed", str(exc), shown, symbol if known is not None else None, known)


def trade(symbol: str, data: dict[str, Any]) -> Trade:
    """A ``<symbol>@trade`` payload -> :class:`Trade`; raises PayloadError naming the field."""
    where = Where(f"{symbol.lower()}{TRADE_SUFFIX}", symbol, RECENT_TRADES)
    missing = [key for key in TRADE_FIELDS if key not in data]
    if missing:
        raise where.fail(missing[0], "field is missing")

    named = symbol_of(data["s"], where, "s")
    if named != symbol:
        raise where.fail("s", f"trade for {named!r} on the stream of {symbol!r}")
    price = decimal_of(data["p"], where, "p")
    qty = decimal_of(data["q"], where, "q")
    with localcontext() as ctx:
        ctx.prec = 60
        quote = (price * qty).quantize(QUOTE_PLACES)
    trade_id = int_of(data["t"], where, "t")
    return Trade(symbol, trade_id, int_of(data["E"], where, "E"), row(RECENT_TRADES, {
        "symbol": symbol,
        "trade_id": trade_id,
        "price": price,
        "qty": qty,
        "quote_qty": quote,
        "trade_time": time_of(data["T"], where, "T"),
        "is_buyer_maker": bool_of(data["m"], where, "m"),
        # Documented as "Ignore"; older docs called it "was the trade the best price
        # match", which REST returns as isBestMatch (true on Spot).
        "is_best_match": bool_of(data.get("M", True), where, "M"),
    }, where))
