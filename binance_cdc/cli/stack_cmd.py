"""`binance-cdc stack up | down | status | logs | reset | jars`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict

from binance_cdc.settings import Settings
from binance_cdc.stack.jars import ensure_jars
from binance_cdc.stack.launcher import Stack


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stack", help="start, check and stop the local services")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    up = actions.add_parser("up", help="start services (default: all) and wait until they answer")
    up.add_argument("services", nargs="*", metavar="SERVICE",
                    help="postgres, kafka, connect, cassandra, spark (master and workers) or "
                         "one of spark-master, spark-worker-N (default: all)")
    up.set_defaults(func=cmd_up)

    down = actions.add_parser("down", help="stop the services this launcher started")
    down.add_argument("services", nargs="*", metavar="SERVICE", help="as for up (default: all)")
    down.set_defaults(func=cmd_down)

    status = actions.add_parser("status", help="each service: pid, ports, health, memory")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    logs = actions.add_parser("logs", help="show a service's log")
    logs.add_argument("service", help="a service name, as `stack status` lists them")
    logs.add_argument("-n", "--lines", type=int, default=50, help="lines to show (default 50)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.set_defaults(func=cmd_logs)

    reset = actions.add_parser("reset", help="stop everything and delete all service data")
    reset.set_defaults(func=cmd_reset)

    jars = actions.add_parser("jars", help="resolve the service jars from Maven Central")
    jars.set_defaults(func=cmd_jars)


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    def ready(name: str, seconds: float, detail: str) -> None:
        print(f"  {name:<14} up in {seconds:5.1f}s  {detail}", flush=True)

    report = Stack(settings).up(args.services or None, on_ready=ready)
    for name in report.already_running:
        print(f"  {name:<14} already running")
    return cmd_status(argparse.Namespace(json=False), settings, quiet_header=False)


def cmd_down(args: argparse.Namespace, settings: Settings) -> int:
    stopped = Stack(settings).down(args.services or None)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings, quiet_header: bool = False) -> int:
    statuses = Stack(settings).status()
    if args.json:
        print(json.dumps([{**asdict(s), "state": s.state} for s in statuses], indent=2))
    else:
        print(f"{'service':<14} {'state':<10} {'pid':>7} {'ports':<16} {'rss':>8}  detail")
        for s in statuses:
            rss = f"{s.rss_bytes / 2**20:.0f}M" if s.rss_bytes else "-"
            ports = ",".join(map(str, s.ports))
            print(f"{s.name:<14} {s.state:<10} {s.pid or '-':>7} {ports:<16} {rss:>8}  {s.detail}")
    return 0 if all(s.healthy for s in statuses) else 1


def cmd_logs(args: argparse.Namespace, settings: Settings) -> int:
    path = Stack(settings).log_file(args.service)
    argv = ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [path]
    try:
        return subprocess.call(argv, stdout=sys.stdout)  # noqa: S603
    except KeyboardInterrupt:
        return 0


def cmd_reset(args: argparse.Namespace, settings: Settings) -> int:
    Stack(settings).reset()
    print(f"stack stopped and its data removed ({settings.stack.home}); jars kept")
    return 0


def cmd_jars(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.stream.submit import write_properties

    ran = ensure_jars(settings.stack)
    print(("resolved" if ran else "already resolved") + f": {settings.stack.jars_dir}")
    print(f"spark-submit properties: {write_properties(settings)}")
    return 0
