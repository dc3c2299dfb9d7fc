"""`binance-cdc stream`: run the Structured Streaming job (Kafka -> Cassandra)."""

from __future__ import annotations

import argparse

from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stream", help="stream change events from Kafka into Cassandra")
    parser.add_argument("--trigger-seconds", type=float, help="micro-batch interval (SPARK_TRIGGER_SECONDS)")
    parser.add_argument("--checkpoint", help="checkpoint directory (SPARK_CHECKPOINT_DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.stream.runner import run_stream

    updates = {}
    if args.trigger_seconds is not None:
        updates["trigger_seconds"] = args.trigger_seconds
    if args.checkpoint is not None:
        updates["checkpoint_dir"] = args.checkpoint
    if updates:
        settings = settings.model_copy(update={"spark": settings.spark.model_copy(update=updates)})
    return run_stream(settings)
