"""`binance-cdc verify [TABLE...] [--wait SECONDS] [--symbol S] [--json]`."""

from __future__ import annotations

import argparse
import json

from binance_cdc.datasets import DATASETS
from binance_cdc.settings import Settings
from binance_cdc.verify import TableDiff, VerifyResult, verify_until


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="compare Postgres and Cassandra row for row (exit 0 only if all match)")
    parser.add_argument("tables", nargs="*", metavar="TABLE",
                        help=f"tables to compare (default: all of {', '.join(DATASETS)})")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="re-check differing tables until they match or SECONDS pass")
    parser.add_argument("--symbol", action="append", dest="symbols", metavar="SYMBOL",
                        help="only rows of this symbol (repeatable)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    result = verify_until(settings, args.tables or None, symbols=args.symbols,
                          wait_s=args.wait)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render(result))
    return 0 if result.matches else 1


def _key(key: dict[str, str | None]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in key.items()) + ")"


def _samples(diff: TableDiff) -> list[str]:
    lines = []
    for label, keys in (("missing", diff.sample_missing), ("extra", diff.sample_extra),
                        ("different", diff.sample_different)):
        if keys:
            lines.append(f"    {label:<9} e.g. " + " ".join(_key(k) for k in keys))
    return lines


def render(result: VerifyResult) -> str:
    lines = [f"{'table':<14} {'postgres':>10} {'cassandra':>10} {'missing':>8} {'extra':>8} "
             f"{'different':>9}  result"]
    for diff in result.tables:
        if diff.error:
            lines.append(f"{diff.table:<14} {'?':>10} {'?':>10} {'?':>8} {'?':>8} {'?':>9}  "
                         f"ERROR: {diff.error}")
            continue
        lines.append(f"{diff.table:<14} {diff.postgres_rows:>10,} {diff.cassandra_rows:>10,} "
                     f"{diff.missing:>8,} {diff.extra:>8,} {diff.different:>9,}  "
                     f"{'ok' if diff.matches else 'DIFFERS'}")
        lines.extend(_samples(diff))
    scope = f" (symbols {', '.join(result.symbols)})" if result.symbols else ""
    verdict = "all tables match" if result.matches else "MISMATCH"
    lines.append(f"{verdict}{scope}; {result.attempts} attempt(s), {result.elapsed_s:.1f}s")
    return "\n".join(lines)
