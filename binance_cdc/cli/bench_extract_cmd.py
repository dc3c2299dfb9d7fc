"""`binance-cdc bench extract`: rows/s into Postgres and the API weight of a cycle."""

from __future__ import annotations

import argparse

from binance_cdc.settings import Settings


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    parser = bench_subparsers.add_parser(
        "extract", help="load speed (batch vs row-by-row) and API weight per cycle")
    parser.add_argument("--rows", type=int, default=100_000, help="trade rows to load")
    parser.add_argument("--symbols", default="10,100",
                        help="symbol counts for the weight figures (comma-separated)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.bench.extract import bench_load, bench_weight

    load = bench_load(settings, args.rows)
    print(f"load of {load.rows} trade rows into PostgreSQL")
    print(f"  COPY + INSERT ... ON CONFLICT : {load.batch_s:7.2f} s  "
          f"{load.batch_rows_per_s:>10,.0f} rows/s")
    print(f"  row-by-row INSERT             : {load.row_by_row_s:7.2f} s  "
          f"{load.row_by_row_rows_per_s:>10,.0f} rows/s")
    print(f"  speed-up                      : {load.row_by_row_s / load.batch_s:7.1f} x")
    counts = [int(c) for c in args.symbols.split(",") if c.strip()]
    print("\nAPI weight of one cycle (all five datasets) against the simulator")
    for fig in bench_weight(settings, counts):
        print(f"  {fig.symbols} symbols:")
        print(f"    {'dataset':<14} {'first':>7} {'steady':>7} {'call-per-symbol':>16}")
        for name in fig.call_per_symbol:
            print(f"    {name:<14} {fig.first_cycle.get(name, 0):>7} "
                  f"{fig.steady_cycle.get(name, 0):>7} {fig.call_per_symbol[name]:>16}")
        print(f"    {'total':<14} {sum(fig.first_cycle.values()):>7} "
              f"{sum(fig.steady_cycle.values()):>7} {sum(fig.call_per_symbol.values()):>16}")
    return 0
