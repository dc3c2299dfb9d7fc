"""`binance-cdc drill`: kill -9 each part under load, bring it back, verify."""

from __future__ import annotations

import argparse

from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drill", help="fault drill: kill -9 Connect, the stream job, Kafka and Cassandra in turn "
                      "under load; require verify to find no difference")
    parser.add_argument("--rate", type=float, default=300.0, help="steady load, changes/s (default 300)")
    parser.add_argument("--only", help="comma-separated subset of connect,stream,kafka,cassandra")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.drill import VICTIMS, run_drill

    victims = tuple(v.strip() for v in args.only.split(",")) if args.only else VICTIMS
    report = run_drill(settings, rate=args.rate, victims=victims,
                       on_event=lambda text: print(text, flush=True))
    print("\n| killed | running again after | changes flowing after |\n|---|---|---|")
    for r in report.recoveries:
        print(f"| {r.victim} | {r.down_s:.1f} s | {r.recovered_s:.1f} s |")
    assert report.verify is not None  # run_drill raises when it could not verify
    tables = ", ".join(f"{t.table} {t.postgres_rows}" for t in report.verify.tables)
    print(f"\nverify: Postgres and Cassandra match after {report.changes:,} changes ({tables} rows)")
    return 0
