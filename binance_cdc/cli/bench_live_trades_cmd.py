"""`binance-cdc bench live-trades`: trades/s and latency of the live WebSocket writer."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from binance_cdc.settings import Settings


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "live-trades", help="the simulator streams trades at fixed rates; measure trades/s into "
                            "Postgres and event -> Postgres (and -> Cassandra) latency")
    parser.add_argument("--rates", default="5000,10000",
                        help="trades per second of each step, comma-separated (default 5000,10000)")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of trading per step (default 20)")
    parser.add_argument("--cassandra-rate", type=float, default=500.0,
                        help="rate of the step that also measures trade -> Cassandra latency "
                             "(default 500; 0 skips it)")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="JSON result file (default .stack/bench/live-trades-<time>.json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.bench.live_trades import run_step

    load_before = os.getloadavg()
    steps = [run_step(settings, f"{rate:,.0f}/s", rate, args.duration)
             for rate in (float(r) for r in args.rates.split(",") if r.strip())]
    if args.cassandra_rate:
        steps.append(run_step(settings, f"{args.cassandra_rate:,.0f}/s + Cassandra",
                              args.cassandra_rate, args.duration, measure_cassandra=True))
    output = args.output or (settings.stack.home / "bench" /
                             f"live-trades-{time.strftime('%Y%m%d-%H%M%S')}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    load = f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    output.write_text(json.dumps({
        "machine": f"{os.cpu_count()} cores", "load": load,
        "flush_interval_s": settings.live.flush_interval_s,
        "batch_rows": settings.live.batch_rows, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "steps": [s.to_dict() for s in steps]}, indent=2) + "\n")
    print(f"live trades: simulator WebSocket -> writer -> PostgreSQL, {args.duration:.0f}s per "
          f"step, flush {settings.live.flush_interval_s * 1000:.0f} ms or "
          f"{settings.live.batch_rows} rows; {os.cpu_count()} cores, {load}")
    print("| load | trades | stored/s | drain s | event->PG p50 ms | p99 ms | max ms | commits "
          "| writer CPU | repaired |\n|---|---|---|---|---|---|---|---|---|---|")
    for s in steps:
        lat = s.commit_latency_ms
        print(f"| {s.label} | {s.emitted:,} | {s.stored_per_s:,.0f} | {s.drain_s:.2f} | "
              f"{lat.p50:,.0f} | {lat.p99:,.0f} | {lat.max:,.0f} | {s.commits:,} | "
              f"{s.writer_cpu_pct:.0f}% | {s.repaired} |")
    for s in steps:
        if s.cassandra is None:
            continue
        c = s.cassandra
        if c.latency_ms is None:
            print(f"\ntrade -> Cassandra at {s.label}: not measured: {c.note}")
        else:
            print(f"\ntrade -> Cassandra (trades_by_day.written_at - trade_time) at "
                  f"{s.rate:,.0f}/s: {c.rows:,} rows, p50 {c.latency_ms.p50:,.0f} ms, p99 "
                  f"{c.latency_ms.p99:,.0f} ms, max {c.latency_ms.max:,.0f} ms")
    print(f"\nfigures in {output}")
    return 0
