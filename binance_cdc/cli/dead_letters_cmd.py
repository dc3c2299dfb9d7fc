"""`binance-cdc dead-letters list | replay | purge`: what the stream could not apply."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from binance_cdc.errors import ConfigError
from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dead-letters", help="list, replay or purge records the "
                                                        "stream could not apply")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (("list", "show dead letters (newest first)"),
                            ("replay", "send records back to their topic for the stream to apply "
                                       "again, then remove them here"),
                            ("purge", "remove dead letters")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--topic", help="only this topic (e.g. binance.binance.klines)")
        action.add_argument("--partition", type=int, help="only this partition (with --offset)")
        action.add_argument("--offset", type=int, help="only the record at this offset")
        action.set_defaults(func=globals()[f"cmd_{name}"])
        if name == "list":
            action.add_argument("--limit", type=int, default=20, help="at most this many (20)")
            action.add_argument("--json", action="store_true", help="one JSON object per line")
        if name == "replay":
            action.add_argument("--value-file", type=Path,
                                help="the corrected record value (needs --topic, --partition, "
                                     "--offset: one record)")
        if name == "purge":
            action.add_argument("--all", action="store_true",
                                help="needed to purge without --topic (every dead letter)")


def _select(args: argparse.Namespace, settings: Settings) -> list:
    from binance_cdc.sink.dead_letters import letters

    if (args.partition is None) != (args.offset is None):
        raise ConfigError("--partition and --offset go together (they name one record)")
    found = list(letters(settings.cassandra, topic=args.topic, partition=args.partition,
                         offset=args.offset))
    return sorted(found, key=lambda x: (x.recorded_at is None, x.recorded_at), reverse=True)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    found = _select(args, settings)
    for letter in found[:args.limit]:
        if args.json:
            print(json.dumps(letter.to_dict()))
        else:
            size = f"{letter.value_bytes} bytes{' (truncated)' if letter.truncated else ''}"
            print(f"{letter.position}  {letter.recorded_at:%Y-%m-%d %H:%M:%S}  key={letter.record_key}"
                  f"  {size}\n    {letter.error}")
    if not args.json:
        print(f"{len(found)} dead letter(s)" + (f", {args.limit} shown" if len(found) > args.limit else ""))
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.kafka.produce import produce
    from binance_cdc.sink.dead_letters import remove, replayable_value

    corrected = None
    if args.value_file is not None:
        if args.offset is None or args.topic is None:
            raise ConfigError("--value-file corrects one record: name it with --topic, "
                              "--partition and --offset (see `dead-letters list`)")
        try:
            corrected = args.value_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {args.value_file}: {exc}") from exc
    found = _select(args, settings)
    if not found:
        print("no dead letter matches")
        return 1
    values = [replayable_value(letter, corrected) for letter in found]  # refuse before sending any
    for letter, value in zip(found, values):
        key = letter.record_key.encode() if letter.record_key is not None else None
        partition, offset = produce(settings.kafka, letter.topic, key, value.encode())
        remove(settings.cassandra, [letter])
        print(f"replayed {letter.position} as {letter.topic}[{partition}]@{offset}")
    return 0


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.sink.dead_letters import remove

    if args.topic is None and not args.all:
        raise ConfigError("purge removes dead letters for good: name --topic, or pass --all")
    removed = remove(settings.cassandra, _select(args, settings))
    print(f"purged {removed} dead letter(s)")
    return 0
