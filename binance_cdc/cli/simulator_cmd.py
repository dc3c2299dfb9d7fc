"""`binance-cdc simulator`: serve the local exchange until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal

from binance_cdc.settings import Settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulator", help="run the local Binance exchange simulator",
        description="Serve Binance's public REST paths over a seeded random-walk market. "
                    "Faults: POST /sim/faults {\"kind\": \"429\"|\"418\"|\"500\"|\"malformed\"|"
                    "\"bad_value\"|\"slow\"|\"unknown_symbol\", \"path\": ..., \"times\": ...}.")
    parser.add_argument("--host", help="interface (default SIMULATOR_HOST)")
    parser.add_argument("--port", type=int, help="port (default SIMULATOR_PORT)")
    parser.add_argument("--seed", type=int, help="market seed (default SIMULATOR_SEED)")
    parser.add_argument("--extra-symbols", type=int,
                        help="extra synthetic symbols (default SIMULATOR_EXTRA_SYMBOLS)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.binance.simulator.market import Market
    from binance_cdc.binance.simulator.server import SimulatorServer

    sim = settings.simulator
    market = Market(args.seed if args.seed is not None else sim.seed,
                    extra_symbols=(args.extra_symbols if args.extra_symbols is not None
                                   else sim.extra_symbols),
                    trade_rate_scale=sim.trade_rate_scale)
    try:
        server = SimulatorServer(market, host=args.host or sim.host,
                                 port=args.port if args.port is not None else sim.port,
                                 weight_limit=sim.weight_limit)
    except OSError as exc:
        from binance_cdc.errors import ConfigError
        raise ConfigError(f"simulator cannot listen on {args.host or sim.host}:"
                          f"{args.port or sim.port}: {exc}; pick another with --port or "
                          "SIMULATOR_PORT") from exc
    signal.signal(signal.SIGTERM, _interrupt)
    log.info("simulator listening on %s (seed %s, symbols %s)", server.url, market.seed,
             ", ".join(market.symbols))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("simulator stopped")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the simulator the way Ctrl-C does."""
    raise KeyboardInterrupt
