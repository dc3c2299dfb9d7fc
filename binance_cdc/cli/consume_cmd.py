"""`binance-cdc consume TOPIC [--from-beginning] [-n N] [--timeout S]`: one JSON line per event."""

from __future__ import annotations

import argparse
import json
import os
import sys

from binance_cdc.kafka.client import change_topic
from binance_cdc.kafka.consume import consume
from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "consume", help="print a topic's change events, one JSON line each (key, op, "
        "before/after, source lsn/ts)")
    parser.add_argument("topic", metavar="TOPIC",
                        help="a topic (binance.binance.klines) or just a table name (klines)")
    parser.add_argument("--from-beginning", action="store_true",
                        help="start at the oldest retained event (default: only new events)")
    parser.add_argument("-n", "--count", type=int, default=None, metavar="N",
                        help="stop after N events")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="stop once no event arrived for S seconds (default: wait forever)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    topic = change_topic(settings.kafka, settings.postgres.schema_name, args.topic)
    events = consume(settings.kafka, topic, from_beginning=args.from_beginning,
                     limit=args.count, idle_timeout_s=args.timeout)
    try:
        for event in events:
            print(json.dumps(event.summary(), separators=(",", ":")), flush=True)
    except BrokenPipeError:
        # `consume ... | head`: the reader has gone, which is a normal way to stop; point
        # stdout at /dev/null so the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        events.close()
    return 0
