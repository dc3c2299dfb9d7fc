"""`bench live-trades`: the live writer under a fixed trade rate from the simulator's streams.

Each step starts a fresh simulator (REST + WebSocket, in this process) whose five
symbols trade at ``rate`` trades/s in total, and the live writer in a child
process (the real code path: WebSocket -> decode -> batch commit), for
``duration_s``. Measured:

* trades/s stored: every emitted trade over first emission -> the moment
  Postgres held them all; "drain" is how long after the last emission that was
  (a writer that keeps up drains within one flush interval: no growing backlog);
* event time -> Postgres commit per trade, from the writer's own commit clock;
* optionally, with the stream job running, trade time -> Cassandra
  (``written_at - trade_time`` of every row in trades_by_day).

The bench rows are deleted afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from binance_cdc.bench.capture import Latency
from binance_cdc.errors import BinanceCdcError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings

log = logging.getLogger(__name__)

SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "1000SATSUSDT", "PEPEUSDT")
CONNECT_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 120.0
CASSANDRA_WAIT_S = 90.0
CASSANDRA_FIRST_ROW_S = 30.0


class BenchError(BinanceCdcError):
    """The live-trades benchmark could not complete a measurement."""


@dataclass(frozen=True)
class CassandraFigures:
    rows: int
    latency_ms: Latency | None
    note: str


@dataclass(frozen=True)
class StepFigures:
    label: str
    rate: float
    duration_s: float
    emitted: int
    stored: int
    stored_per_s: float
    drain_s: float
    commit_latency_ms: Latency
    commits: int
    repaired: int
    writer_cpu_pct: float
    cassandra: CassandraFigures | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _writer_process(settings: Settings, stop: Any, results: Any) -> None:
    """The child: run the live writer until ``stop`` is set; send back its counters."""
    from binance_cdc.extract.live.runner import run

    logging.basicConfig(level=logging.WARNING, format="writer %(levelname)s %(name)s: %(message)s")
    local_stop = threading.Event()
    def forward_stop() -> None:
        stop.wait()
        local_stop.set()

    threading.Thread(target=forward_stop, daemon=True).start()
    try:
        stats = run(settings, stop=local_stop)
        cpu = os.times()
        results.put({"latencies": stats.latencies_ms, "commits": stats.commits,
                     "repaired": stats.repaired, "cpu_s": cpu.user + cpu.system})
    except BinanceCdcError as exc:
        results.put({"error": str(exc)})


def run_step(settings: Settings, label: str, rate: float, duration_s: float, *,
             measure_cassandra: bool = False) -> StepFigures:
    """One step at ``rate`` trades/s in total; see the module docstring."""
    from binance_cdc.binance.simulator.market import DEFAULT_SPECS, Market
    from binance_cdc.binance.simulator.server import SimulatorServer
    from binance_cdc.binance.simulator.streams import StreamServer

    suffix = f"_LB{uuid.uuid4().hex[:8].upper()}"
    market = Market(101, specs=tuple(s for s in DEFAULT_SPECS if s.symbol in SYMBOLS),
                    symbol_suffix=suffix, history_minutes=5, trade_rate_scale=0.0,
                    history_trades=max(50_000, int(rate * (duration_s + 30))))
    symbols = list(market.symbols)
    rest = SimulatorServer(market).start()
    streams = StreamServer(market, rest.faults).start()
    run_settings = settings.model_copy(update={
        "binance": settings.binance.model_copy(update={"base_url": rest.url, "symbols": symbols}),
        "live": settings.live.model_copy(update={"ws_url": streams.url})})
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    writer = context.Process(target=_writer_process, args=(run_settings, stop, results),
                             name="live-writer", daemon=True)
    writer.start()
    try:
        _wait(lambda: bool(streams.clients), CONNECT_TIMEOUT_S,
              "the live writer did not connect to the simulator's streams")
        started = time.time()
        for symbol in symbols:
            market.set_trade_rate(symbol, rate / len(symbols))
        time.sleep(duration_s)
        for symbol in symbols:
            market.set_trade_rate(symbol, 0)
        emitted_at = time.time()
        emitted = sum(len(market.symbols[s].trades) for s in symbols)
        stored = _wait_stored(settings, symbols, emitted)
        done_at = time.time()
        stop.set()
        outcome = results.get(timeout=60)
        writer.join(30)
        if "error" in outcome:
            raise BenchError(f"the live writer failed: {outcome['error']}")
        cassandra = (_cassandra(settings, symbols, emitted, started)
                     if measure_cassandra else None)
    finally:
        stop.set()
        if writer.is_alive():
            writer.kill()
        streams.stop()
        rest.stop()
        _cleanup(settings, symbols)
    return StepFigures(
        label=label, rate=rate, duration_s=duration_s, emitted=emitted, stored=stored,
        stored_per_s=stored / max(done_at - started, 1e-3),
        drain_s=max(0.0, done_at - emitted_at), commit_latency_ms=Latency.of(outcome["latencies"]),
        commits=outcome["commits"], repaired=outcome["repaired"],
        writer_cpu_pct=100 * outcome["cpu_s"] / max(done_at - started, 1e-3),
        cassandra=cassandra)


def _wait(check: Any, timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(message)
        time.sleep(0.02)


def _wait_stored(settings: Settings, symbols: list[str], emitted: int) -> int:
    """Poll Postgres until it holds ``emitted`` trades of ``symbols``; return the count."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    with connect(settings.postgres) as conn:
        while True:
            row = conn.execute(
                f"SELECT count(*) FROM {settings.postgres.schema_name}.recent_trades "
                "WHERE symbol = ANY(%s)", (symbols,)).fetchone()
            stored = int(row[0]) if row else 0
            if stored >= emitted:
                return stored
            if time.monotonic() > deadline:
                raise BenchError(f"only {stored} of {emitted} trades reached Postgres within "
                                 f"{DRAIN_TIMEOUT_S:.0f}s")
            time.sleep(0.02)


def _cassandra(settings: Settings, symbols: list[str], emitted: int,
               started: float) -> CassandraFigures:
    """Trade time -> Cassandra write of every bench trade in trades_by_day, if the stream runs."""
    from binance_cdc.sink.connection import cassandra_session

    days = sorted({dt.datetime.fromtimestamp(started, dt.timezone.utc).date(),
                   dt.datetime.now(dt.timezone.utc).date()})
    cass = settings.cassandra
    first_deadline = time.monotonic() + CASSANDRA_FIRST_ROW_S
    deadline = time.monotonic() + CASSANDRA_WAIT_S
    rows: list[Any] = []
    with cassandra_session(cass, keyspace=cass.keyspace, timeout_s=10) as session:
        while True:
            rows = [r for s in symbols for day in days for r in session.execute(
                "SELECT trade_time, written_at FROM trades_by_day WHERE symbol = %s "
                "AND trade_date = %s", (s, day), timeout=60)]
            if len(rows) >= emitted:
                break
            if not rows and time.monotonic() > first_deadline:
                return CassandraFigures(0, None, "no bench trade reached Cassandra within "
                                        f"{CASSANDRA_FIRST_ROW_S:.0f}s: the stream job is not "
                                        "running (start it with `binance-cdc stream`)")
            if time.monotonic() > deadline:
                return CassandraFigures(len(rows), None, f"only {len(rows)} of {emitted} trades "
                                        f"reached Cassandra within {CASSANDRA_WAIT_S:.0f}s")
            time.sleep(0.5)
    latencies = [_ms(r.written_at) - _ms(r.trade_time) for r in rows]
    return CassandraFigures(len(rows), Latency.of(latencies), "trade time -> written_at")


def _ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp() * 1000)


def _cleanup(settings: Settings, symbols: list[str]) -> None:
    schema = settings.postgres.schema_name
    with connect(settings.postgres) as conn:
        for table in ("recent_trades", "live_trade_progress"):
            conn.execute(f"DELETE FROM {schema}.{table} WHERE symbol = ANY(%s)",
                         (symbols,))
