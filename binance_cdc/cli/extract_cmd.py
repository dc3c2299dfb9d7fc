"""`binance-cdc extract [--once | --live-trades]`: Binance -> the `binance` Postgres schema."""

from __future__ import annotations

import argparse

from binance_cdc.errors import ConfigError
from binance_cdc.settings import Settings, _split_list


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract", help="poll Binance into Postgres (forever on a schedule, or --once)",
        description="Poll the five datasets into the binance schema. Ctrl-C / SIGTERM stop "
                    "after the current dataset.")
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true",
                        help="run one cycle and exit; non-zero if any dataset failed")
    parser.add_argument("--symbols", help="comma-separated symbols (overrides BINANCE_SYMBOLS)")
    parser.add_argument("--datasets",
                        help="comma-separated datasets (overrides EXTRACT_DATASETS)")
    parser.add_argument("--base-url", help="REST base URL, e.g. the simulator's "
                                           "http://127.0.0.1:8765 (overrides BINANCE_BASE_URL)")
    parser.add_argument("--live-trades", action="store_true",
                        help="stream trades over WebSocket instead of polling (= `binance-cdc "
                             "trades live`)")
    parser.add_argument("--ws-url", help="with --live-trades: WebSocket base URL, e.g. the "
                                         "simulator's ws://127.0.0.1:8766 (overrides LIVE_WS_URL)")


def apply_overrides(args: argparse.Namespace, settings: Settings) -> Settings:
    """Settings with the command-line overrides applied."""
    binance, extract = {}, {}
    if args.symbols:
        binance["symbols"] = _split_list(args.symbols)
    if args.base_url:
        binance["base_url"] = args.base_url
    if args.datasets:
        extract["datasets"] = _split_list(args.datasets)
    return settings.model_copy(update={
        "binance": settings.binance.model_copy(update=binance),
        "extract": settings.extract.model_copy(update=extract)})


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.extract.runner import run as run_extractor

    if args.live_trades:
        from binance_cdc.cli import trades_cmd

        if args.once or args.datasets:
            raise ConfigError("--live-trades streams recent_trades until stopped; it takes "
                              "neither --once nor --datasets")
        return trades_cmd.run(args, settings)
    if args.ws_url:
        raise ConfigError("--ws-url only applies to --live-trades")

    results = run_extractor(apply_overrides(args, settings), once=args.once)
    return 1 if any(r.status == "failed" for r in results) else 0
