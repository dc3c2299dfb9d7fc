"""`binance-cdc demo [--live]` and `binance-cdc stop`."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from binance_cdc.settings import PROJECT_ROOT, Settings

SHOWCASE = (
    ("Latest prices", "SELECT symbol, price, updated_at FROM latest_prices WHERE symbol IN ({symbols})"),
    ("Last 5 one-minute klines of BTCUSDT (newest first)",
     "SELECT open_time, open, high, low, close, volume, is_closed FROM klines "
     "WHERE symbol = 'BTCUSDT' AND interval = '1m' LIMIT 5"),
    ("Order book of BTCUSDT: best 5 bids",
     "SELECT price, quantity FROM order_book WHERE symbol = 'BTCUSDT' AND side = 'bid' "
     "ORDER BY price DESC LIMIT 5"),
    ("Order book of BTCUSDT: best 5 asks",
     "SELECT price, quantity FROM order_book WHERE symbol = 'BTCUSDT' AND side = 'ask' LIMIT 5"),
    ("Live trades of BTCUSDT today, newest first (WebSocket -> Postgres -> Cassandra)",
     "SELECT trade_time, trade_id, price, qty, written_at FROM trades_by_day "
     "WHERE symbol = 'BTCUSDT' AND trade_date = '{today}' LIMIT 5"),
    ("BTCUSDT minute by minute, newest first (the stream's windowed aggregation of its trades)",
     "SELECT minute, open, high, low, close, volume, vwap, trade_count FROM trade_metrics_1m "
     "WHERE symbol = 'BTCUSDT' LIMIT 5"),
)

NEXT_STEPS = """\
Everything is still running. Look further:
  cqlsh --credentials {credentials} {host} {port} -f cassandra/queries.cql
                                                    the questions users ask, as CQL
  binance-cdc status                              services, connector, lag, last batch
  {prometheus}/alerts{pad}Prometheus: every stage's metrics, the alerts
  binance-cdc verify                              Postgres vs Cassandra, row for row
  binance-cdc verify metrics --minutes 10         trade metrics vs Postgres and the 1m klines
  python extraction_script.py --base-url {sim}    keep extracting (Ctrl-C stops)
  tail -f {live_log}     live trades keep streaming in
  binance-cdc consume binance.binance.latest_prices --from-beginning -n 5
Stop everything with `make stop` (or `binance-cdc stop`)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="run the whole pipeline on the exchange simulator")
    demo.add_argument("--live", action="store_true",
                      help="extract from the real Binance API instead of the simulator")
    demo.set_defaults(func=run_demo_cmd)
    stop = subparsers.add_parser("stop", help="stop the stream job, the simulator and the stack")
    stop.set_defaults(func=run_stop)


def run_demo_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.demo import run_demo
    from binance_cdc.sink.connection import cassandra_session

    started = time.monotonic()
    step_no = 0

    def on_step(text: str) -> None:
        nonlocal step_no
        if text.startswith("  "):
            print(text, flush=True)
            return
        step_no += 1
        print(f"[{step_no}] {text} ({time.monotonic() - started:.0f}s)", flush=True)

    outcome = run_demo(settings, live=args.live, on_step=on_step)
    tables = ", ".join(f"{t.table} {t.postgres_rows}" for t in outcome["verify"].tables)
    print(f"\nCassandra matches Postgres row for row ({tables} rows) "
          f"after {time.monotonic() - started:.0f}s.\n")
    cass = settings.cassandra
    with cassandra_session(cass, keyspace=cass.keyspace) as session:
        for title, cql in SHOWCASE:
            cql = cql.format(symbols=", ".join(f"'{s}'" for s in outcome["symbols"]),
                             today=dt.datetime.now(dt.timezone.utc).date())
            rows = list(session.execute(cql))
            print(f"{title}:\n  cqlsh> {cql};")
            for row in rows:
                print("   " + " | ".join(str(v) for v in row))
            print()
    prometheus = settings.prometheus.url
    print(NEXT_STEPS.format(host=cass.host, port=cass.port, sim=settings.simulator.url,
                            prometheus=prometheus, pad=" " * max(1, 41 - len(prometheus)),
                            live_log=settings.stack.logs_dir / "live-trades.log",
                            credentials=_relative(settings.stack.cqlsh_credentials)))
    return 0


def _relative(path: Path) -> Path:
    """``path`` as the README shows it when it lies in the project (the demo's cwd)."""
    return path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path


def run_stop(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.demo import stop_all

    stopped = stop_all(settings)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0
