"""`binance-cdc exporter`: serve the pipeline's own metrics for Prometheus until stopped."""

from __future__ import annotations

import argparse
import signal
import threading

from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "exporter", help="serve replication-slot, stream-lag and last-batch metrics for Prometheus",
        description="Serve /metrics on METRICS_HOST:METRICS_EXPORTER_PORT (default "
                    "127.0.0.1:9463) until Ctrl-C / SIGTERM. `binance-cdc stack up` runs it "
                    "in the background.")
    parser.add_argument("--port", type=int, help="port to serve on (overrides "
                                                 "METRICS_EXPORTER_PORT)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.observe.metrics.exporter import run_exporter

    if args.port is not None:
        settings = settings.model_copy(update={
            "metrics": settings.metrics.model_copy(update={"exporter_port": args.port})})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.set())
    run_exporter(settings, stop)
    return 0
