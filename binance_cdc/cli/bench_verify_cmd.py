"""`binance-cdc bench verify --rows N`: rows/s and peak memory of `verify` on N-row tables."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from binance_cdc.settings import Settings


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "verify", help="load N identical trades into both stores, plant known differences, "
                       "time `verify` and measure its peak memory")
    parser.add_argument("--rows", type=int, default=1_000_000, metavar="N",
                        help="trades to load (default 1000000); trades_by_day gets as many")
    parser.add_argument("--keep", action="store_true",
                        help="leave the sandbox schema and keyspace (default: drop them)")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="JSON result file (default .stack/bench/verify-<time>.json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.bench.verify import bench_verify

    figures = bench_verify(settings, rows=args.rows, keep=args.keep)
    output = args.output or (settings.stack.home / "bench" /
                             f"verify-{time.strftime('%Y%m%d-%H%M%S')}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures.to_dict(), indent=2) + "\n")
    print(f"verify of {figures.rows:,} trades (recent_trades and trades_by_day), "
          f"sandbox {figures.sandbox}")
    print(f"  load (Postgres COPY, Cassandra batches, both tables): {figures.load_s:,.0f} s")
    for label, run in (("identical tables", figures.matching),
                       ("planted differences", figures.planted_run)):
        print(f"  {label}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU, peak RSS "
              f"{run.peak_rss_mb:.0f} MB, exit {run.exit_status}")
        for table, t in run.tables.items():
            print(f"    {table:<14} {t['expected_rows']:>12,} rows  {t['seconds']:8.1f} s  "
                  f"{t['rows_per_s']:>10,.0f} rows/s")
    print(f"  both tables, identical: {figures.rows_per_s:,.0f} rows/s over the verify "
          "process's whole wall time")
    print(f"  planted {len(figures.planted)} differences; verify found "
          f"{figures.planted_run.differences}: "
          f"{'exactly them' if figures.exact else 'NOT exactly the planted ones'}")
    print(f"  sandbox: {figures.cleanup}; figures in {output}")
    return 0 if figures.exact else 1
