"""`binance-cdc trades live`: Binance's WebSocket trade streams -> binance.recent_trades."""

from __future__ import annotations

import argparse

from binance_cdc.settings import Settings, _split_list


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("trades", help="trade datasets beyond the REST polls")
    commands = parser.add_subparsers(dest="trades_command", required=True, metavar="COMMAND")
    live = commands.add_parser(
        "live", help="stream every trade of the symbols into recent_trades (until Ctrl-C)",
        description="Subscribe to <symbol>@trade over Binance's combined-stream endpoint and "
                    "commit each trade to binance.recent_trades within LIVE_FLUSH_INTERVAL_S; "
                    "missed ids are repaired from /api/v3/historicalTrades. Ctrl-C / SIGTERM "
                    "commit what is queued and stop. Same as `python extraction_script.py "
                    "--live-trades`.")
    add_arguments(live)
    live.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", help="comma-separated symbols (overrides BINANCE_SYMBOLS)")
    parser.add_argument("--base-url", help="REST base URL for symbol checks and gap repair "
                                           "(overrides BINANCE_BASE_URL)")
    parser.add_argument("--ws-url", help="WebSocket base URL, e.g. the simulator's "
                                         "ws://127.0.0.1:8766 (overrides LIVE_WS_URL)")


def live_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    binance = {}
    if args.symbols:
        binance["symbols"] = _split_list(args.symbols)
    if args.base_url:
        binance["base_url"] = args.base_url
    live = {"ws_url": args.ws_url} if args.ws_url else {}
    return settings.model_copy(update={"binance": settings.binance.model_copy(update=binance),
                                       "live": settings.live.model_copy(update=live)})


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.extract.live.runner import run as run_live

    run_live(live_settings(args, settings))
    return 0
