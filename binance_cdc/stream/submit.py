"""How the stream is started: the spark-submit command and its properties file.

``spark-submit --properties-file .stack/spark/spark-defaults.conf spark_streaming.py``
is the one way the job starts: typed by a user, run by ``binance-cdc stream``,
the demo, the drill, the benchmarks and the tests. The properties file holds
what must be known before the driver's JVM starts (the connector jars, driver
memory, the default master); it is written from the settings by `make setup`
(`binance-cdc stack jars`) and again by every `binance-cdc stream`. Flags given
to spark-submit (``--master spark://...``, ``--driver-memory``) win over it.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from binance_cdc.errors import StreamError
from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.stack.jars import spark_jars

ENTRY_POINT = PROJECT_ROOT / "spark_streaming.py"


def properties_file(settings: Settings) -> Path:
    return settings.stack.home / "spark" / "spark-defaults.conf"


JIT_OPTIONS = "-XX:-DontCompileHugeMethods"


def properties(settings: Settings) -> dict[str, str]:
    """The launch-time Spark properties, from the settings."""
    jars = spark_jars(settings.stack)
    if not any("spark-sql-kafka" in j.name for j in jars) or \
            not any("spark-cassandra-connector" in j.name for j in jars):
        raise StreamError(f"the Spark Kafka source or Cassandra connector jar is missing from "
                          f"{settings.stack.jars_dir / 'spark'}; run `binance-cdc stack jars`")
    spark = settings.spark
    return {
        "spark.master": spark.master,
        "spark.app.name": spark.query_name,
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.driver.memory": spark.driver_memory,
        "spark.executor.memory": spark.executor_memory,
        # A standalone cluster gives one application every core unless capped.
        "spark.cores.max": str(spark.cores_max),
        # The driver (and its block manager) listens on this address only.
        "spark.driver.host": spark.driver_host,
        "spark.driver.bindAddress": spark.driver_host,
        # The driver runs our code: the interpreter that has binance_cdc installed.
        # Executors run no Python at all (the job stays on the JVM there).
        "spark.pyspark.driver.python": sys.executable,
        "spark.ui.enabled": "false",
        # One pool per table's query (binance_cdc/stream/batch.py): a backlog on one
        # topic shares the cores instead of queueing every other table behind it.
        "spark.scheduler.mode": "FAIR",
        "spark.scheduler.allocation.file": str(pools_file(settings)),
        "spark.sql.session.timeZone": "UTC",
        # The decoder's generated code has methods over HotSpot's 8,000-bytecode limit,
        # which the JIT otherwise never compiles: measured 2.2x faster decoding.
        "spark.driver.extraJavaOptions": JIT_OPTIONS,
        "spark.executor.extraJavaOptions": JIT_OPTIONS,
        "spark.sql.extensions": "com.datastax.spark.connector.CassandraSparkExtensions",
        # Lets users query the replica from Spark SQL: SELECT * FROM cassandra.binance.klines
        "spark.sql.catalog.cassandra": "com.datastax.spark.connector.datasource.CassandraCatalog",
    }


def pools_file(settings: Settings) -> Path:
    return settings.stack.home / "spark" / "fairscheduler.xml"


def write_pools(settings: Settings) -> Path:
    """One FAIR scheduler pool per query (spark.scheduler.allocation.file)."""
    from binance_cdc.datasets import DATASETS
    from binance_cdc.sink.trade_metrics import TABLE as TRADE_METRICS

    pools = "\n".join(f'  <pool name="{name}"><schedulingMode>FIFO</schedulingMode>'
                      "<weight>1</weight><minShare>0</minShare></pool>"
                      for name in (*DATASETS, TRADE_METRICS))
    path = pools_file(settings)
    path.write_text(f'<?xml version="1.0"?>\n<allocations>\n{pools}\n</allocations>\n')
    return path


def write_properties(settings: Settings) -> Path:
    path = properties_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_pools(settings)
    lines = ["# Written from the settings (SPARK_*, STACK_HOME) by `binance-cdc stack jars` and",
             "# `binance-cdc stream`; edit the settings, not this file. Flags given to",
             "# spark-submit (--master, --driver-memory, --conf) override these."]
    lines += [f"{key} {value}" for key, value in properties(settings).items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def spark_submit() -> str:
    """The spark-submit of the interpreter that runs us (pip puts it next to python)."""
    beside = Path(sys.executable).parent / "spark-submit"
    if beside.exists():
        return str(beside)
    found = shutil.which("spark-submit")
    if found:
        return found
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


def command_argv(settings: Settings, *, master: str | None = None,
                 job_args: tuple[str, ...] = ()) -> list[str]:
    """The spark-submit command that runs the job."""
    argv = [spark_submit(), "--properties-file", str(properties_file(settings))]
    if master:
        argv += ["--master", master]
    return [*argv, str(ENTRY_POINT), *job_args]


def submit_argv(settings: Settings, *, master: str | None = None,
                job_args: tuple[str, ...] = ()) -> list[str]:
    """:func:`command_argv`, after writing the properties file it reads."""
    write_properties(settings)
    return command_argv(settings, master=master, job_args=job_args)


def readme_command(settings: Settings) -> str:
    """The command as a user types it from the project folder."""
    conf = properties_file(settings)
    try:
        conf_text = str(conf.relative_to(Path.cwd()))
    except ValueError:
        conf_text = str(conf)
    try:
        entry = str(ENTRY_POINT.relative_to(Path.cwd()))
    except ValueError:
        entry = str(ENTRY_POINT)
    return shlex.join(["spark-submit", "--properties-file", conf_text, entry])
