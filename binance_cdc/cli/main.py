"""Entry point of `binance-cdc` and `python -m binance_cdc`.

Each subcommand module exposes ``register(subparsers)``, which adds its parser
and sets ``func(args, settings) -> int``. This module configures logging once,
loads the settings once, and maps the project's errors to exit codes and a
one-line message (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from binance_cdc.errors import BinanceCdcError, ConfigError
from binance_cdc.settings import load_settings

log = logging.getLogger("binance_cdc")

# Subcommand modules, in the order `--help` lists them.
COMMAND_MODULES = (
    "binance_cdc.cli.stack_cmd",
    "binance_cdc.cli.settings_cmd",
    "binance_cdc.cli.connector_cmd",
    "binance_cdc.cli.cassandra_cmd",
    "binance_cdc.cli.stream_cmd",
    "binance_cdc.cli.demo_cmd",
    "binance_cdc.cli.drill_cmd",
    "binance_cdc.cli.extract_cmd",
    "binance_cdc.cli.trades_cmd",
    "binance_cdc.cli.simulator_cmd",
    "binance_cdc.cli.bench_cmd",
    "binance_cdc.cli.verify_cmd",
    "binance_cdc.cli.status_cmd",
    "binance_cdc.cli.consume_cmd",
    "binance_cdc.cli.dead_letters_cmd",
    "binance_cdc.cli.psql_cmd",
    "binance_cdc.cli.exporter_cmd",
)

EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="binance-cdc",
        description="Binance market data -> PostgreSQL -> Debezium/Kafka -> Spark -> Cassandra")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG and show tracebacks")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("urllib3", "cassandra", "py4j", "kafka", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # A command that wraps another tool (psql) takes the arguments it does not know itself
    # and hands them on; every other command refuses them as argparse would.
    args, unknown = parser.parse_known_args(argv)
    if hasattr(args, "passthrough"):
        args.passthrough = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    configure_logging(args.debug)
    try:
        settings = load_settings()
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BinanceCdcError as exc:
        if args.debug:
            log.exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
