"""`binance-cdc settings`: every setting, its variable and default."""

from __future__ import annotations

import argparse

from binance_cdc.settings import Settings, settings_markdown, settings_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("settings", help="list every setting (--markdown for the README)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        print("\n".join(settings_markdown()))
    else:
        rows = settings_table()
        width = max(len(var) for var, _, _ in rows)
        for var, default, doc in rows:
            print(f"{var:<{width}}  {default:<28}  {doc}")
    return 0
