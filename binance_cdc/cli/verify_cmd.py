"""`binance-cdc verify [TABLE...] [--until-equal] [--timeout S] [--symbol S] [--json]`.

`binance-cdc verify metrics [--minutes N]` compares trade_metrics_1m with Postgres
and with the exchange's 1m klines instead (binance_cdc/verify/trade_metrics.py).

Exit status: 0 every table matches, 1 some differ, 2 could not verify (a
service down, a missing table, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from binance_cdc.errors import BinanceCdcError
from binance_cdc.settings import Settings
from binance_cdc.verify import RowDifference, TableDiff, VerifyResult, verify_until
from binance_cdc.verify.progress import Progress
from binance_cdc.verify.run import ALL_TABLES
from binance_cdc.verify.trade_metrics import verify_metrics

EXIT_DIFFERENT = 1
EXIT_CANNOT_VERIFY = 2
DEFAULT_UNTIL_EQUAL_S = 300.0
DEFAULT_METRICS_MINUTES = 60


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="compare Postgres and Cassandra row for row, query tables too "
                       "(exit 0 all match, 1 differences, 2 could not verify)")
    parser.add_argument("tables", nargs="*", metavar="TABLE",
                        help=f"tables to compare (default: all of {', '.join(ALL_TABLES)}); "
                             "`metrics`: trade_metrics_1m against Postgres and the 1m klines")
    parser.add_argument("--minutes", type=int, default=DEFAULT_METRICS_MINUTES, metavar="N",
                        help="with `metrics`: the last N whole minutes "
                             f"(default {DEFAULT_METRICS_MINUTES})")
    parser.add_argument("--until-equal", action="store_true",
                        help="re-check differing tables until they match or the timeout passes "
                             f"(default timeout {DEFAULT_UNTIL_EQUAL_S:.0f}s)")
    parser.add_argument("--timeout", "--wait", type=float, default=None, metavar="SECONDS",
                        dest="timeout", help="how long to keep re-checking (implies --until-equal)")
    parser.add_argument("--symbol", action="append", dest="symbols", metavar="SYMBOL",
                        help="only rows of this symbol (repeatable)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    wait_s = args.timeout if args.timeout is not None else (
        DEFAULT_UNTIL_EQUAL_S if args.until_equal else 0.0)
    if "metrics" in args.tables:
        return _run_metrics(args, settings, wait_s)
    bar = ProgressBar() if sys.stderr.isatty() else None
    try:
        result = verify_until(settings, args.tables or None, symbols=args.symbols,
                              wait_s=wait_s, progress=bar)
    except BinanceCdcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_VERIFY
    finally:
        if bar:
            bar.clear()
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result))
    if result.failed:
        return EXIT_CANNOT_VERIFY
    return 0 if result.matches else EXIT_DIFFERENT


def _run_metrics(args: argparse.Namespace, settings: Settings, wait_s: float) -> int:
    if args.tables != ["metrics"]:
        print("error: `verify metrics` compares the trade metrics only; verify the tables "
              f"({' '.join(t for t in args.tables if t != 'metrics')}) in a separate run",
              file=sys.stderr)
        return EXIT_CANNOT_VERIFY
    if args.minutes < 1:
        print(f"error: --minutes must be at least 1 (got {args.minutes})", file=sys.stderr)
        return EXIT_CANNOT_VERIFY
    result = verify_metrics(settings, minutes=args.minutes, symbols=args.symbols, wait_s=wait_s)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result))
    if result.failed:
        return EXIT_CANNOT_VERIFY
    return 0 if result.matches else EXIT_DIFFERENT


class ProgressBar:
    """One line on stderr, redrawn: table, step, rows, rows/s and time left."""

    WIDTH = 24

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if not p.done and now - self._last < 0.2:
            return
        self._last = now
        if p.expected:
            filled = min(self.WIDTH, int(self.WIDTH * p.rows / p.expected))
            bar = "[" + "#" * filled + "." * (self.WIDTH - filled) + "] "
        else:
            bar = ""
        eta = p.eta_s
        line = (f"{p.table} ({p.step}) {bar}{p.rows:,} rows  {p.rate:,.0f} rows/s"
                + ("" if eta is None else f"  ETA {eta:,.0f}s"))
        sys.stderr.write("\r\x1b[K" + line)
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _key(key: dict[str, str | None]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in key.items()) + ")"


def _sample(sample: RowDifference) -> str:
    line = f"    {sample.kind:<9} {_key(sample.key)}"
    values = {c: ab for c, ab in sample.columns.items() if c not in sample.key}
    if sample.kind in ("missing", "held") and all(b is None for _, b in values.values()):
        line += " " + " ".join(f"{c}={a}" for c, (a, _) in values.items())  # not in Cassandra
    elif sample.kind in ("different", "held"):
        line += " " + ", ".join(f"{c}: {a} != {b}" for c, (a, b) in values.items())
    if sample.note:
        line += f"  [{sample.note}]"
    return line


def _status(diff: TableDiff) -> str:
    if not diff.matches:
        return "DIFFERS"
    return f"ok ({diff.held} held in dead letters)" if diff.held else "ok"


def render(result: VerifyResult) -> str:
    lines = [f"{'table':<14} {'expected':>10} {'cassandra':>10} {'missing':>8} {'extra':>8} "
             f"{'different':>9} {'held':>5} {'rows/s':>9}  result"]
    for diff in result.tables:
        if diff.error:
            lines.append(f"{diff.table:<14} {'-':>10} {'-':>10} {'-':>8} {'-':>8} {'-':>9} "
                         f"{'-':>5} {'-':>9}  COULD NOT VERIFY: {diff.error}")
            continue
        lines.append(f"{diff.table:<14} {diff.postgres_rows:>10,} {diff.cassandra_rows:>10,} "
                     f"{diff.missing:>8,} {diff.extra:>8,} {diff.different:>9,} {diff.held:>5,} "
                     f"{diff.rows_per_s:>9,.0f}  {_status(diff)}")
        lines.extend(_sample(s) for s in diff.samples)
    scope = f" (symbols {', '.join(result.symbols)})" if result.symbols else ""
    if result.failed:
        verdict = "COULD NOT VERIFY"
    else:
        verdict = "all tables match" if result.matches else "MISMATCH"
    lines.append(f"{verdict}{scope}; {result.attempts} attempt(s), {result.elapsed_s:.1f}s. "
                 "Query tables are compared with what their replica table implies.")
    return "\n".join(lines)
