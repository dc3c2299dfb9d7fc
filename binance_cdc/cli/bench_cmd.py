"""`binance-cdc bench <what>`: benchmarks, one subcommand module each.

Add a benchmark by writing a module with ``register(bench_subparsers)`` (setting
``func(args, settings) -> int``) and listing it in :data:`BENCH_MODULES`.
"""

from __future__ import annotations

import argparse
import importlib

BENCH_MODULES = (
    "binance_cdc.cli.bench_extract_cmd",
    "binance_cdc.cli.bench_capture_cmd",
    "binance_cdc.cli.bench_pipeline_cmd",
    "binance_cdc.cli.bench_verify_cmd",
    "binance_cdc.cli.bench_live_trades_cmd",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its figures")
    bench_subparsers = parser.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    for module_name in BENCH_MODULES:
        importlib.import_module(module_name).register(bench_subparsers)
