"""`binance-cdc stream`: the Structured Streaming job (Kafka -> Cassandra).

The job always runs under spark-submit. Typed at a shell, this command runs
``spark-submit --properties-file .stack/spark/spark-defaults.conf spark_streaming.py``
(it replaces itself with it, so Ctrl-C and signals reach Spark directly);
spark_streaming.py, started by spark-submit, calls this same command inside the
driver, where it runs the job.
"""

from __future__ import annotations

import argparse
import os
import shlex

from binance_cdc.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stream", help="stream change events from Kafka into Cassandra (runs spark-submit)")
    parser.add_argument("--master", help="Spark master URL for spark-submit, e.g. "
                        "spark://127.0.0.1:7077 (default: SPARK_MASTER)")
    parser.add_argument("--trigger-seconds", type=float,
                        help="micro-batch interval (SPARK_TRIGGER_SECONDS)")
    parser.add_argument("--checkpoint", help="checkpoint directory (SPARK_CHECKPOINT_DIR)")
    parser.add_argument("--print-command", action="store_true",
                        help="print the spark-submit command instead of running it")
    parser.set_defaults(func=run)


def _in_spark_driver() -> bool:
    # spark-submit's PythonRunner hands the driver's Python this gateway port.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def run(args: argparse.Namespace, settings: Settings) -> int:
    updates: dict[str, object] = {}
    job_args: list[str] = []
    if args.trigger_seconds is not None:
        updates["trigger_seconds"] = args.trigger_seconds
        job_args += ["--trigger-seconds", str(args.trigger_seconds)]
    if args.checkpoint is not None:
        updates["checkpoint_dir"] = args.checkpoint
        job_args += ["--checkpoint", str(args.checkpoint)]
    if updates:
        settings = settings.model_copy(update={"spark": settings.spark.model_copy(update=updates)})

    from binance_cdc.stream.submit import readme_command, submit_argv

    if _in_spark_driver():
        from binance_cdc.stream.runner import run_stream

        return run_stream(settings, submit_command=readme_command(settings))
    argv = submit_argv(settings, master=args.master, job_args=tuple(job_args))
    if args.print_command:
        print(shlex.join(argv))
        return 0
    os.execv(argv[0], argv)  # noqa: S606 - becomes spark-submit, with our own argv
    return 0  # pragma: no cover - execv does not return
