"""`binance-cdc bench capture`: Postgres -> Kafka events/s and commit-to-Kafka latency."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from binance_cdc.settings import Settings


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "capture", help="commit N changes and measure events/s and latency arriving on Kafka")
    parser.add_argument("--changes", type=int, default=50_000, metavar="N",
                        help="inserts to commit (default 50000)")
    parser.add_argument("--batch", type=int, default=100,
                        help="rows per transaction (default 100)")
    parser.add_argument("--rate", type=float, default=None, metavar="CHANGES_PER_S",
                        help="pace the commits (default: as fast as Postgres takes them)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the bench rows in Postgres (default: delete them afterwards)")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="JSON result file (default .stack/bench/capture-<time>.json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.bench.capture import bench_capture

    figures = bench_capture(settings, changes=args.changes, batch=args.batch,
                            rate=args.rate, keep=args.keep)
    output = args.output or (settings.stack.home / "bench" /
                             f"capture-{time.strftime('%Y%m%d-%H%M%S')}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures.to_dict(), indent=2) + "\n")
    lat = figures.latency_ms
    print(f"capture of {figures.changes:,} inserts into {figures.table} "
          f"({figures.batch} per transaction, "
          f"{f'paced at {figures.rate:,.0f}/s' if figures.rate else 'unpaced'}), "
          f"symbol {figures.symbol}")
    print(f"  commits into PostgreSQL   : {figures.commit_s:8.2f} s  "
          f"{figures.commits_per_s:>10,.0f} changes/s")
    print(f"  first commit -> last event: {figures.capture_s:8.2f} s  "
          f"{figures.events_per_s:>10,.0f} events/s on {figures.topic}")
    print(f"  first -> last event       : {figures.arrival_s:8.2f} s  "
          f"{figures.arrival_events_per_s:>10,.0f} events/s")
    print(f"  commit -> Kafka latency   : p50 {lat.p50:,.0f} ms  p99 {lat.p99:,.0f} ms  "
          f"max {lat.max:,.0f} ms  mean {lat.mean:,.0f} ms")
    print(f"  bench rows: {figures.cleanup}; figures in {output}")
    return 0
