"""`binance-cdc cassandra apply | query`."""

from __future__ import annotations

import argparse

from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.schema import apply_schema


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cassandra", help="the Cassandra keyspace and its tables")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply = actions.add_parser("apply", help="create the keyspace and tables of cassandra/schema.cql")
    apply.set_defaults(func=cmd_apply)
    query = actions.add_parser("query", help="run one CQL statement and print the rows")
    query.add_argument("cql")
    query.set_defaults(func=cmd_query)


def cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    count = apply_schema(settings.cassandra)
    print(f"keyspace {settings.cassandra.keyspace}: {count} statements applied")
    return 0


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        rows = list(session.execute(args.cql))
    if rows:
        columns = list(rows[0]._fields)
        print(" | ".join(columns))
        for row in rows:
            print(" | ".join(str(getattr(row, c)) for c in columns))
    print(f"({len(rows)} rows)")
    return 0
