"""`binance-cdc bench pipeline` and `binance-cdc bench stream`: the pipeline under load."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from binance_cdc.bench.pipeline import BenchError
from binance_cdc.settings import Settings


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    pipeline = bench_subparsers.add_parser(
        "pipeline", help="commit a mix of inserts/updates/deletes; measure PG->Kafka, "
                         "PG->Cassandra and commit->Cassandra latency")
    pipeline.add_argument("--rate", type=float, default=None,
                          help="changes per second (default: as fast as Postgres takes them)")
    pipeline.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    pipeline.add_argument("--batch", type=int, default=50, help="changes per transaction (default 50)")
    pipeline.add_argument("--output", help="JSON result file (default .stack/bench/pipeline-<time>.json)")
    pipeline.set_defaults(func=run_pipeline)

    stream = bench_subparsers.add_parser(
        "stream", help="end-to-end changes/s and latency at 1,000/s and at the highest rate")
    stream.add_argument("--duration", type=float, default=30.0, help="seconds per step (default 30)")
    stream.add_argument("--rates", default="1000,3000",
                        help="fixed-rate steps before the as-fast-as-possible one (default 1000,3000)")
    stream.add_argument("--trade-metrics", choices=("both", "on", "off"), default="both",
                        help="run the steps with the per-minute trade metrics on, off, or both "
                             "in turn (default both: shows what the aggregation costs)")
    stream.add_argument("--output", help="JSON result file (default .stack/bench/stream-<time>.json)")
    stream.set_defaults(func=run_stream_bench)


def run_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.bench.pipeline import run_step

    label = f"{args.rate:,.0f}/s" if args.rate else "max"
    with _stream_running(settings):
        steps = [run_step(settings, label, rate=args.rate, duration_s=args.duration,
                          batch=args.batch)]
    return _report(settings, "pipeline", steps, args.output)


def run_stream_bench(args: argparse.Namespace, settings: Settings) -> int:
    from binance_cdc.bench.load import cleanup
    from binance_cdc.bench.pipeline import run_step
    from binance_cdc.stack.apps import stream_app

    modes = ("on", "off") if args.trade_metrics == "both" else (args.trade_metrics,)
    running = stream_app(settings).pid()
    if running is not None:
        raise BenchError(f"the stream job already runs (pid {running}); the benchmark starts its "
                         "own with the trade metrics on and off: stop it first (`binance-cdc "
                         "stop` stops everything, or kill that pid)")
    leftovers: list = []
    steps = []
    try:
        for mode in modes:
            mode_settings = settings.model_copy(update={"spark": settings.spark.model_copy(
                update={"trade_metrics": mode == "on"})})
            env = {**os.environ, "SPARK_TRADE_METRICS": "true" if mode == "on" else "false"}
            with _stream_running(mode_settings, env=env):
                for rate in (float(r) for r in args.rates.split(",") if r.strip()):
                    steps.append(run_step(settings, f"{rate:,.0f}/s, metrics {mode}", rate=rate,
                                          duration_s=args.duration, leftovers=leftovers))
                steps.append(run_step(settings, f"max, metrics {mode}", rate=None,
                                      duration_s=args.duration, batch=200, leftovers=leftovers))
    finally:
        for result in leftovers:
            cleanup(settings, result)
    return _report(settings, "stream", steps, args.output)


class _stream_running:  # noqa: N801 - used as a context manager
    """Start the stream job for the benchmark unless it already runs; stop only ours."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        from binance_cdc.stack.apps import stream_app

        self.app = stream_app(settings)
        self.settings = settings
        self.env = env
        self.started = False

    def __enter__(self) -> None:
        from binance_cdc.bench.pipeline import run_step

        if self.app.pid() is None:
            metrics = "on" if self.settings.spark.trade_metrics else "off"
            print(f"starting the stream job for the benchmark, trade metrics {metrics} "
                  f"(log {self.app.log_file})")
            self.app.start(env=self.env)
            self.started = True
            run_step(self.settings, "warm-up", rate=200, duration_s=3, timeout_s=240)

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.app.stop()


def _report(settings: Settings, name: str, steps: list, output: str | None) -> int:
    spark = settings.spark
    environment = {
        "machine": f"{os.cpu_count()} cores, {_memory_gb():.0f} GB, {platform.system()}",
        "trigger_seconds": spark.trigger_seconds,
        "max_offsets_per_trigger": spark.max_offsets_per_trigger,
        "spark_master": spark.master,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    path = output or str(settings.stack.home / "bench" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"environment": environment, "steps": [s.to_dict() for s in steps]}, out, indent=2)
    print(f"\n{name} benchmark on {environment['machine']}; trigger {spark.trigger_seconds}s, "
          f"maxOffsetsPerTrigger {spark.max_offsets_per_trigger}, master {spark.master}")
    print("| load | changes | committed/s | PG->Kafka /s | PG->Cassandra /s | p50 ms | p95 ms "
          "| p99 ms | drain s |\n|---|---|---|---|---|---|---|---|---|")
    for s in steps:
        print(f"| {s.label} | {s.changes:,} | {s.committed_per_s:,.0f} | {s.capture_per_s:,.0f} | "
              f"{s.e2e_per_s:,.0f} | {s.latency_p50_ms:,.0f} | {s.latency_p95_ms:,.0f} | "
              f"{s.latency_p99_ms:,.0f} | {s.drain_s:.1f} |")
    print(f"\nfigures in {path}")
    return 0


def _memory_gb() -> float:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        return int(meminfo.readline().split()[1]) / 2**20
