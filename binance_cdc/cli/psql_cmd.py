"""`binance-cdc psql [--admin] [psql arguments...]`: psql on the project's database.

The passwords are generated (binance_cdc/passwords.py), so nobody types them: this logs
in as POSTGRES_USER (or the superuser with ``--admin``) with the password in psql's
environment, never on a command line, and passes every other argument to psql as is.
"""

from __future__ import annotations

import argparse
import subprocess

from binance_cdc.postgres.schema import psql_login
from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "psql", help="psql on the binance database as its role, the password from settings; "
        "other arguments go to psql (binance-cdc psql -c 'SELECT ...')",
        description="Runs psql logged in as POSTGRES_USER (the password in its environment, "
        "never on a command line); every argument not listed here is passed to psql.")
    parser.add_argument("--admin", action="store_true",
                        help="as POSTGRES_ADMIN_USER, on the postgres database")
    parser.set_defaults(func=run, passthrough=[])


def run(args: argparse.Namespace, settings: Settings) -> int:
    argv, env = psql_login(settings.postgres, as_admin=args.admin,
                           database="postgres" if args.admin else None)
    return subprocess.call([*argv, *args.passthrough], env=env)  # noqa: S603 - the user's psql call
