"""The one-command demo: the whole pipeline on the exchange simulator.

Each step either succeeds or raises an error that names the service, its log
file and the likely fix; ``on_step`` reports progress to the CLI.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from binance_cdc.errors import BinanceCdcError, StackError
from binance_cdc.settings import Settings
from binance_cdc.stack.apps import live_trades_app, simulator_app, stream_app
from binance_cdc.stack.ports import port_open

log = logging.getLogger(__name__)

DEMO_SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "1000SATSUSDT", "PEPEUSDT", "币安人生USDT"]
EXTRACT_CYCLES = 2


class StepFailed(StackError):
    """A demo step failed: which, why, where to look and what to try."""

    def __init__(self, step: str, reason: str, log_file: str, fix: str) -> None:
        super().__init__(f"{step} failed: {reason}\n  log: {log_file}\n  fix: {fix}")
        self.step = step
        self.log_file = log_file
        self.fix = fix


Step = Callable[[str], None]


def demo_settings(settings: Settings, *, live: bool) -> Settings:
    """The extractor pointed at the simulator (or at Binance with ``live``)."""
    if live:
        return settings
    return settings.model_copy(update={"binance": settings.binance.model_copy(update={
        "base_url": settings.simulator.url, "symbols": DEMO_SYMBOLS})})


def run_demo(settings: Settings, *, live: bool = False, on_step: Step = lambda s: None,
             wait_s: float = 180.0) -> dict:
    """Run every step; return what the final report needs."""
    from binance_cdc.connect.client import ConnectClient
    from binance_cdc.connect.connector import apply, load_definition
    from binance_cdc.extract.runner import run as run_extractor
    from binance_cdc.sink.schema import apply_schema
    from binance_cdc.stack.launcher import Stack
    from binance_cdc.verify.run import verify_until

    logs = settings.stack.logs_dir
    stack = Stack(settings)

    on_step("starting PostgreSQL, Kafka, Kafka Connect + Debezium, Cassandra and Prometheus")
    stack.up(on_ready=lambda name, s, detail: on_step(f"  {name} up in {s:.0f}s ({detail})"))

    on_step("creating the Cassandra keyspace and tables (cassandra/schema.cql)")
    _guard("cassandra schema", str(stack.services["cassandra"].log_file),
           "check `binance-cdc stack status`; CASSANDRA_* settings",
           lambda: apply_schema(settings.cassandra))

    on_step("registering the Debezium connector (debezium/binance-postgres.json)")
    _guard("connector apply", str(logs / "connect.log"),
           "see `binance-cdc connector status` and `binance-cdc stack logs connect`",
           lambda: apply(ConnectClient(settings.connect.url), load_definition(settings),
                         timeout_s=settings.connect.ready_timeout_s))

    stream = stream_app(settings)
    on_step(f"starting the Spark streaming job (log {stream.log_file})")
    stream.start()

    run_settings = demo_settings(settings, live=live)
    if not live:
        simulator = simulator_app(settings)
        on_step(f"starting the exchange simulator on {settings.simulator.url}")
        simulator.start()
        _wait(lambda: port_open(settings.simulator.host, settings.simulator.port), 30,
              "simulator", str(simulator.log_file), "is SIMULATOR_PORT free?")

    source = "Binance" if live else "the simulator"
    for cycle in range(1, EXTRACT_CYCLES + 1):
        on_step(f"extracting five datasets from {source} (cycle {cycle} of {EXTRACT_CYCLES})")
        results = run_extractor(run_settings, once=True)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise StepFailed("extract", "; ".join(f"{r.dataset}: {r.error}" for r in failed),
                             "the lines above", "check BINANCE_BASE_URL and the symbols")
        if cycle < EXTRACT_CYCLES:
            time.sleep(3)

    on_step(f"waiting until Cassandra matches Postgres row for row (up to {wait_s:.0f}s)")
    if stream.pid() is None:
        raise StepFailed("stream", "the streaming job exited", str(stream.log_file),
                         "read the log's last lines; `binance-cdc stream` runs it in the foreground")
    result = verify_until(settings, wait_s=wait_s)
    if not result.matches:
        raise StepFailed("verify", f"replication did not catch up: {result}", str(stream.log_file),
                         "is the stream job running? `binance-cdc status`")
    if not live:
        writer = live_trades_app(settings, DEMO_SYMBOLS)
        on_step(f"streaming live trades from the simulator's WebSocket into Postgres (log "
                f"{writer.log_file}); waiting for them in Cassandra's trades_by_day")
        since = dt.datetime.now(dt.timezone.utc)
        writer.start()
        _wait(lambda: _live_trade_in_cassandra(settings, since), wait_s, "live trades",
              str(writer.log_file), "read the writer's log; is SIMULATOR_WS_PORT reachable?")
    return {"verify": result, "symbols": run_settings.binance.symbols}


def _live_trade_in_cassandra(settings: Settings, since: dt.datetime) -> bool:
    """A BTCUSDT trade newer than ``since`` is in trades_by_day."""
    from binance_cdc.sink.connection import cassandra_session

    cass = settings.cassandra
    with cassandra_session(cass, keyspace=cass.keyspace) as session:
        row = session.execute(
            "SELECT trade_time FROM trades_by_day WHERE symbol = 'BTCUSDT' AND trade_date = %s "
            "LIMIT 1", (since.date(),)).one()
    return row is not None and row.trade_time.replace(tzinfo=dt.timezone.utc) >= since


def stop_all(settings: Settings) -> list[str]:
    """Stop the demo's processes and then the stack; return what was stopped."""
    from binance_cdc.stack.launcher import Stack

    apps = (live_trades_app(settings, DEMO_SYMBOLS), stream_app(settings),
            simulator_app(settings))
    stopped = [app.name for app in apps if app.stop()]
    return stopped + Stack(settings).down()


def _guard(step: str, log_file: str, fix: str, action: Callable[[], object]) -> None:
    try:
        action()
    except BinanceCdcError as exc:
        raise StepFailed(step, str(exc), log_file, fix) from exc


def _wait(check: Callable[[], bool], timeout_s: float, step: str, log_file: str, fix: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise StepFailed(step, f"not ready after {timeout_s:.0f}s", log_file, fix)
        time.sleep(0.5)
