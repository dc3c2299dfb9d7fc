"""`binance-cdc connector apply | status | restart | pause | resume | delete | snapshot TABLE`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from binance_cdc.connect.client import ConnectClient
from binance_cdc.connect.connector import apply, failure, is_running, likely_cause, load_definition
from binance_cdc.datasets import DATASETS
from binance_cdc.postgres.replication import request_incremental_snapshot, slot_state
from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("connector", help="manage the Debezium connector over Connect's REST API")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, func, text in (
        ("apply", cmd_apply, "create or update the connector and wait until it runs"),
        ("status", cmd_status, "connector and task state, replication slot lag"),
        ("restart", cmd_restart, "restart the connector and its tasks"),
        ("pause", cmd_pause, "pause the connector"),
        ("resume", cmd_resume, "resume a paused connector"),
        ("delete", cmd_delete, "remove the connector (the replication slot stays)"),
    ):
        action = actions.add_parser(name, help=text)
        action.set_defaults(func=func)
        if name == "status":
            action.add_argument("--json", action="store_true", help="machine-readable output")
    snapshot = actions.add_parser("snapshot", help="signal an incremental snapshot of one table")
    # Checked by request_incremental_snapshot, not argparse: a wrong name then gets the
    # project's one-line error (exit 2) instead of a usage dump.
    snapshot.add_argument("table", metavar="TABLE", help=f"one of {', '.join(DATASETS)}")
    snapshot.set_defaults(func=cmd_snapshot)


def _client(settings: Settings) -> ConnectClient:
    return ConnectClient(settings.connect.url)


def cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    definition = load_definition(settings)
    status = apply(_client(settings), definition, timeout_s=settings.connect.ready_timeout_s)
    tasks = ", ".join(f"task {t['id']} {t['state']}" for t in status["tasks"])
    print(f"connector {definition.name} RUNNING ({tasks}); topics {definition.topic_prefix}.*")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    definition = load_definition(settings)
    status = _client(settings).status(definition.name)
    slot = slot_state(settings.postgres, definition.slot_name)
    threshold = settings.connect.slot_lag_warn_bytes
    lag_high = bool(slot and slot.lag_bytes is not None and slot.lag_bytes > threshold)
    if args.json:
        print(json.dumps({"connector": status, "slot": slot and slot.__dict__,
                          "slot_lag_warning": lag_high}, indent=2))
    elif status is None:
        print(f"connector {definition.name} is not registered; run `binance-cdc connector apply`")
    else:
        print(f"connector {definition.name}: {status['connector']['state']} "
              f"on {status['connector'].get('worker_id', '?')}")
        for task in status["tasks"]:
            print(f"  task {task['id']}: {task['state']}")
        trace = failure(status)
        if trace:
            print(f"  likely cause: {likely_cause(trace)}")
            print("  " + "\n  ".join(trace.strip().splitlines()[:6]))
    if not args.json:
        if slot is None:
            print(f"replication slot {definition.slot_name}: does not exist yet")
        else:
            lag = "unknown" if slot.lag_bytes is None else f"{slot.lag_bytes:,} bytes"
            print(f"replication slot {slot.name}: {'active' if slot.active else 'inactive'}, "
                  f"lag {lag}, confirmed {slot.confirmed_flush_lsn}, wal {slot.wal_status}")
            if lag_high:
                print(f"WARNING: the slot holds back more than {threshold:,} bytes of WAL; is the "
                      "connector running? (CONNECT_SLOT_LAG_WARN_BYTES sets this threshold)")
    healthy = status is not None and is_running(status) and not lag_high
    return 0 if healthy else 1


def _lifecycle(verb: str) -> Callable[[argparse.Namespace, Settings], int]:
    """A subcommand that sends one lifecycle request (restart, pause, resume)."""

    def command(args: argparse.Namespace, settings: Settings) -> int:
        name = load_definition(settings).name
        getattr(_client(settings), verb)(name)
        print(f"connector {name} {verb} requested")
        return 0

    return command


cmd_restart, cmd_pause, cmd_resume = (_lifecycle(v) for v in ("restart", "pause", "resume"))


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    definition = load_definition(settings)
    _client(settings).delete(definition.name)
    print(f"connector {definition.name} deleted; replication slot {definition.slot_name} kept "
          "(drop it with pg_drop_replication_slot if you will not re-apply)")
    return 0


def cmd_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    signal_id = request_incremental_snapshot(settings.postgres, args.table)
    print(f"incremental snapshot of {args.table} requested (signal {signal_id})")
    return 0
