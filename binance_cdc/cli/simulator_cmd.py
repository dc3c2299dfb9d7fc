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
        description="Serve Binance's public REST paths over a seeded random-walk market, and "
                    "its WebSocket trade streams (/ws/<symbol>@trade, /stream?streams=...) on "
                    "a second port. Faults: POST /sim/faults {\"kind\": \"429\"|\"418\"|\"500\"|"
                    "\"malformed\"|\"bad_value\"|\"negative_value\"|\"foreign_symbol\"|\"slow\"|"
                    "\"unknown_symbol\"|\"ws_disconnect\"|\"ws_shutdown\"|\"ws_malformed\"|"
                    "\"ws_foreign\"|\"ws_bad_value\", \"path\": ..., \"times\": ...}.")
    parser.add_argument("--host", help="interface (default SIMULATOR_HOST)")
    parser.add_argument("--port", type=int, help="port (default SIMULATOR_PORT)")
    parser.add_argument("--ws-port", type=int,
                        help="port of the WebSocket streams (default SIMULATOR_WS_PORT)")
    parser.add_argument("--seed", type=int, help="market seed (default SIMULATOR_SEED)")
    parser.add_argument("--extra-symbols", type=int,
                        help="extra synthetic symbols (default SIMULATOR_EXTRA_SYMBOLS)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.binance.simulator.market import Market
    from binance_cdc.binance.simulator.server import SimulatorServer
    from binance_cdc.binance.simulator.streams import StreamServer

    sim = settings.simulator
    market = Market(args.seed if args.seed is not None else sim.seed,
                    extra_symbols=(args.extra_symbols if args.extra_symbols is not None
                                   else sim.extra_symbols),
                    trade_rate_scale=sim.trade_rate_scale)
    host = args.host or sim.host
    port = args.port if args.port is not None else sim.port
    ws_port = args.ws_port if args.ws_port is not None else sim.ws_port
    try:
        server = SimulatorServer(market, host=host, port=port, weight_limit=sim.weight_limit)
    except OSError as exc:
        raise _cannot_listen(host, port, "--port or SIMULATOR_PORT", exc) from exc
    try:
        streams = StreamServer(market, server.faults, host=host, port=ws_port,
                               lifetime_s=sim.ws_lifetime_s).start()
    except OSError as exc:
        server.stop()
        raise _cannot_listen(host, ws_port, "--ws-port or SIMULATOR_WS_PORT", exc) from exc
    signal.signal(signal.SIGTERM, _interrupt)
    log.info("simulator listening on %s and %s (seed %s, symbols %s)", server.url, streams.url,
             market.seed, ", ".join(market.symbols))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("simulator stopped")
    finally:
        streams.stop()
    return 0


def _cannot_listen(host: str, port: int, setting: str, exc: OSError) -> Exception:
    from binance_cdc.errors import ConfigError

    return ConfigError(f"simulator cannot listen on {host}:{port}: {exc}; pick another with "
                       f"{setting}")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the simulator the way Ctrl-C does."""
    raise KeyboardInterrupt
