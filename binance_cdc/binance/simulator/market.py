"""The simulated market: a seeded random walk per symbol, generated lazily up to "now".

Trade ids grow by one per trade; live ones start near the start time in
milliseconds, so each run continues above the ids of earlier runs. Everything is
integer ticks and lot steps internally and exact Decimals on the way out, so
prices keep each symbol's precision (2 to 8 decimals) and huge volumes stay
exact. Given the same seed, start time and clock readings the
market is identical run after run. The clock is injectable: tests use
:class:`ManualClock` to move time (close candles, create trade gaps) at will.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext

MINUTE_MS = 60_000
DAY_MS = 86_400_000
BOOK_LEVELS = 200
INTERVAL_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120,
                    "4h": 240, "6h": 360, "8h": 480, "12h": 720, "1d": 1440}


@dataclass(frozen=True)
class SymbolSpec:
    """A listed symbol: start price, price tick, lot step, mean lot and trade rate."""

    symbol: str
    price: Decimal
    tick: Decimal
    step: Decimal
    mean_lots: int
    trades_per_s: float


# Odd real-world shapes on purpose: leading digits, a non-ASCII name, 8-decimal
# prices and volumes in the billions.
DEFAULT_SPECS: tuple[SymbolSpec, ...] = (
    SymbolSpec("BTCUSDT", Decimal("67012.34"), Decimal("0.01"), Decimal("0.00001"), 4000, 12.0),
    SymbolSpec("ETHUSDT", Decimal("3440.12"), Decimal("0.01"), Decimal("0.0001"), 3000, 8.0),
    SymbolSpec("BNBUSDT", Decimal("580.1"), Decimal("0.1"), Decimal("0.001"), 2000, 3.0),
    SymbolSpec("1000SATSUSDT", Decimal("0.0003012"), Decimal("0.0000001"), Decimal("1"),
               40_000_000, 3.0),
    SymbolSpec("PEPEUSDT", Decimal("0.00000812"), Decimal("0.00000001"), Decimal("1"),
               900_000_000, 4.0),
    SymbolSpec("币安人生USDT", Decimal("0.1523"), Decimal("0.0001"), Decimal("0.1"),
               20_000, 1.5),
)


def synthetic_specs(count: int) -> tuple[SymbolSpec, ...]:
    """``count`` plain symbols SIM001USDT... (benchmarks with many symbols)."""
    return tuple(SymbolSpec(f"SIM{i:03d}USDT", Decimal(10 + i), Decimal("0.001"),
                            Decimal("0.01"), 500, 0.5) for i in range(1, count + 1))


class ManualClock:
    """A clock that only moves when told to (``advance``); callable like ``time.time``."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def fmt(value: Decimal, places: int = 8) -> str:
    """Binance's str-num: fixed 8 decimals."""
    return f"{value:.{places}f}"


class _Candle:
    __slots__ = ("open", "high", "low", "close", "lots", "quote_units", "count",
                 "taker_lots", "taker_quote_units", "first_id", "last_id")

    def __init__(self, price: int) -> None:
        self.open = self.high = self.low = self.close = price
        self.lots = self.quote_units = self.count = self.taker_lots = self.taker_quote_units = 0
        self.first_id = self.last_id = -1

    def add(self, trade_id: int, price: int, lots: int, taker_buy: bool) -> None:
        if self.count == 0:
            self.open = self.high = self.low = price
            self.first_id = trade_id
        self.high, self.low, self.close = max(self.high, price), min(self.low, price), price
        self.lots += lots
        self.quote_units += price * lots
        self.count += 1
        self.last_id = trade_id
        if taker_buy:
            self.taker_lots += lots
            self.taker_quote_units += price * lots


class SymbolMarket:
    """One symbol: trades, book and 1m candles, advanced lazily to the clock."""

    def __init__(self, spec: SymbolSpec, seed: int, start_ms: int, *, history_minutes: int,
                 history_trades: int, rate_scale: float) -> None:
        self.spec = spec
        self.rng = random.Random(f"{seed}:{spec.symbol}")
        self.price = int(spec.price / spec.tick)
        self.vol_ticks = max(1, self.price // 5000)  # ~2 bps per trade
        self.gap = max(1, self.vol_ticks // 2)  # level spacing in ticks
        self.rate = spec.trades_per_s * rate_scale
        self.trades: deque[tuple[int, int, int, int, bool]] = deque(maxlen=history_trades)
        self.candles: dict[int, _Candle] = {}
        # The book has its own random stream and catches up only when read: moving it
        # on every trade would cost ~0.5 ms a trade, far too slow for thousands a second.
        self.book_rng = random.Random(f"{seed}:{spec.symbol}:book")
        self._book: dict[tuple[str, int], int] = {}
        self._book_id = self.rng.randrange(10**9, 10**10)
        self._book_trades = 0
        self._backfill_history(start_ms, history_minutes)
        self.now_ms = float(start_ms)
        self.next_event_ms = start_ms + self.inter_arrival_ms()
        self._rebuild_book()

    # -- generation --------------------------------------------------------------------
    def inter_arrival_ms(self) -> float:
        return self.rng.expovariate(self.rate) * 1000.0 if self.rate > 0 else math.inf

    def _lots(self) -> int:
        return max(1, int(self.rng.expovariate(1.0 / self.spec.mean_lots)))

    def _backfill_history(self, start_ms: int, minutes: int) -> None:
        """Synthetic closed candles before the start, so klines and 24h stats have a past."""
        first_minute = (start_ms // MINUTE_MS - minutes) * MINUTE_MS
        walk = [self.price]
        for _ in range(minutes):
            walk.append(max(1, walk[-1] - round(self.rng.gauss(0, self.vol_ticks * 8))))
        walk.reverse()  # walk[-1] is the start price
        next_id = 0
        for i in range(minutes):
            candle = _Candle(walk[i])
            count = max(1, int(self.rate * 60 * (0.5 + self.rng.random())))
            candle.open, candle.close = walk[i], walk[i + 1]
            spread = abs(round(self.rng.gauss(0, self.vol_ticks * 3)))
            candle.high = max(candle.open, candle.close) + spread
            candle.low = max(1, min(candle.open, candle.close) - spread)
            candle.count, candle.lots = count, count * self.spec.mean_lots
            candle.quote_units = candle.lots * (candle.open + candle.close) // 2
            candle.taker_lots = candle.lots // 2
            candle.taker_quote_units = candle.quote_units // 2
            candle.first_id, candle.last_id = next_id, next_id + count - 1
            next_id += count
            self.candles[first_minute + i * MINUTE_MS] = candle
        # Live ids start near the start time in ms (ids grow 1,000 a second of wall time,
        # like a busy symbol), so a restarted simulator continues above the ids of an
        # earlier run instead of reusing them: the exchange never reuses an id.
        base = start_ms - next_id - self.rng.randrange(1000)
        for candle in self.candles.values():
            candle.first_id += base
            candle.last_id += base
        self.next_trade_id = next_id + base
        self.history_start_ms = first_minute

    def advance(self, now_ms: float) -> None:
        """Generate every trade (and its book changes) up to ``now_ms``."""
        while self.next_event_ms <= now_ms:
            self._trade(int(self.next_event_ms))
            self.next_event_ms += self.inter_arrival_ms()
        self.now_ms = max(self.now_ms, now_ms)

    def _trade(self, t_ms: int) -> None:
        self.price = max(1, self.price + round(self.rng.gauss(0, self.vol_ticks)))
        lots = self._lots()
        buyer_maker = self.rng.random() < 0.5
        trade = (self.next_trade_id, self.price, lots, t_ms, buyer_maker)
        self.trades.append(trade)
        minute = t_ms // MINUTE_MS * MINUTE_MS
        candle = self.candles.get(minute)
        if candle is None:
            candle = self.candles[minute] = _Candle(self.price)
        candle.add(self.next_trade_id, self.price, lots, not buyer_maker)
        self.next_trade_id += 1
        self._book_trades += 1

    @property
    def book(self) -> dict[tuple[str, int], int]:
        """{(side, price ticks): lots} around the current price, caught up with the trades."""
        self._sync_book()
        return self._book

    @property
    def book_id(self) -> int:
        self._sync_book()
        return self._book_id

    def _sync_book(self) -> None:
        """Apply the book changes of the trades since the last read: two resting orders
        come or go per trade (each a new update id), around the latest price."""
        if not self._book_trades:
            return
        changes, self._book_trades = 2 * self._book_trades, 0
        self._rebuild_book()
        keys = list(self._book)
        for _ in range(min(changes, 4 * len(keys))):
            self._book[self.book_rng.choice(keys)] = max(
                1, int(self.book_rng.expovariate(1.0 / self.spec.mean_lots)))
        self._book_id += changes

    def _grid(self) -> set[tuple[str, int]]:
        best_bid = (self.price - 1) // self.gap * self.gap
        best_ask = best_bid + self.gap
        bids = {("bid", best_bid - k * self.gap) for k in range(BOOK_LEVELS)
                if best_bid - k * self.gap > 0}
        return bids | {("ask", best_ask + k * self.gap) for k in range(BOOK_LEVELS)}

    def _rebuild_book(self) -> None:
        grid = self._grid()
        for key in [k for k in self._book if k not in grid]:
            del self._book[key]
            self._book_id += 1
        for key in sorted(grid - self._book.keys()):
            self._book[key] = max(1, int(self.book_rng.expovariate(1.0 / self.spec.mean_lots)))
            self._book_id += 1

    # -- views (Decimal out) ----------------------------------------------------------
    def p(self, ticks: int) -> Decimal:
        return ticks * self.spec.tick

    def q(self, lots: int) -> Decimal:
        return lots * self.spec.step

    def quote(self, units: int) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 60
            return units * self.spec.tick * self.spec.step

    def candle_at(self, minute_ms: int, prev_close: int) -> _Candle:
        candle = self.candles.get(minute_ms)
        return candle if candle is not None else _Candle(prev_close)

    def trade_index(self, from_id: int) -> int:
        """Position of trade ``from_id`` in the retained history (ids are consecutive)."""
        if not self.trades:
            return 0
        return min(max(from_id - self.trades[0][0], 0), len(self.trades))


class Market:
    """All symbols of the simulated exchange; thread-safe."""

    def __init__(self, seed: int = 42, *, specs: tuple[SymbolSpec, ...] = DEFAULT_SPECS,
                 extra_symbols: int = 0, symbol_suffix: str = "",
                 clock: Callable[[], float] = time.time, history_minutes: int = 1500,
                 history_trades: int = 50_000, trade_rate_scale: float = 1.0) -> None:
        self.clock = clock
        self.seed = seed
        specs = specs + synthetic_specs(extra_symbols)
        if symbol_suffix:
            specs = tuple(SymbolSpec(s.symbol + symbol_suffix, s.price, s.tick, s.step,
                                     s.mean_lots, s.trades_per_s) for s in specs)
        start_ms = int(clock() * 1000)
        self.symbols: dict[str, SymbolMarket] = {
            s.symbol: SymbolMarket(s, seed, start_ms, history_minutes=history_minutes,
                                   history_trades=history_trades, rate_scale=trade_rate_scale)
            for s in specs}
        self.lock = threading.RLock()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def get(self, symbol: str) -> SymbolMarket | None:
        """The symbol advanced to now, or None if it is not listed."""
        market = self.symbols.get(symbol)
        if market is not None:
            market.advance(self.now_ms())
        return market

    def delist(self, symbol: str) -> None:
        """Stop listing ``symbol``: every endpoint answers -1121 and exchangeInfo omits it."""
        with self.lock:
            self.symbols.pop(symbol)

    def set_trade_rate(self, symbol: str, trades_per_s: float) -> None:
        """Change one symbol's trade rate from now on (tests: trade faster than polls)."""
        with self.lock:
            market = self.symbols[symbol]
            market.advance(self.now_ms())
            market.rate = trades_per_s
            market.next_event_ms = market.now_ms + market.inter_arrival_ms()
