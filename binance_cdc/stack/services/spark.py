"""A Spark standalone cluster on this machine: one master and its workers, started
from pyspark's own classes (the pip wheel has no start-master.sh / start-worker.sh).

It is what a user who outgrows ``local[2]`` points ``spark-submit --master`` at,
and what the tests run the stream on. Every daemon binds 127.0.0.1 only.
"""

from __future__ import annotations

from pathlib import Path

from binance_cdc.errors import ServiceStartError
from binance_cdc.settings import Settings, env_var_for
from binance_cdc.stack.services.base import Port, Service


def spark_class() -> str:
    """pyspark's launcher script for a JVM main class (bin/spark-class in the wheel)."""
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


class _SparkDaemon(Service):
    settings_section = "spark"
    main_class: str

    @property
    def properties_file(self) -> Path:
        # Also the pid files' marker: the daemon's command line carries its path.
        return self.conf_dir / "spark-daemon.conf"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.parent.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(
            "# Written by `binance-cdc stack up` from the settings (SPARK_*).\n"
            # Finished applications' work folders (jars, executor logs) are removed.
            "spark.worker.cleanup.enabled true\n"
            "spark.worker.cleanup.appDataTtl 3600\n")

    def env(self) -> dict[str, str]:
        spark = self.settings.spark
        # spark-class sizes Master and Worker daemons with SPARK_DAEMON_MEMORY (default 1g).
        return {**super().env(), "SPARK_DAEMON_MEMORY": spark.cluster_daemon_memory,
                "SPARK_LOCAL_IP": spark.cluster_host, "SPARK_LOG_DIR": str(self.stack.logs_dir)}

    @property
    def log_file(self) -> Path:
        return self.console_file

    @property
    def master_url(self) -> str:
        spark = self.settings.spark
        return f"spark://{spark.cluster_host}:{spark.cluster_master_port}"

    def cluster_state(self) -> dict:
        import requests

        spark = self.settings.spark
        response = requests.get(f"http://{spark.cluster_host}:{spark.cluster_master_ui_port}/json/",
                                timeout=3)
        response.raise_for_status()
        return response.json()


class SparkMasterService(_SparkDaemon):
    name = "spark-master"
    main_class = "org.apache.spark.deploy.master.Master"

    def ports(self) -> list[Port]:
        spark = self.settings.spark
        return [Port(spark.cluster_host, getattr(spark, field), env_var_for("spark", field))
                for field in ("cluster_master_port", "cluster_master_ui_port")]

    def argv(self) -> list[str]:
        spark = self.settings.spark
        return [spark_class(), self.main_class, "--host", spark.cluster_host,
                "--port", str(spark.cluster_master_port),
                "--webui-port", str(spark.cluster_master_ui_port),
                "--properties-file", str(self.properties_file)]

    def probe(self) -> str:
        state = self.cluster_state()
        if state.get("status") != "ALIVE":
            raise ServiceStartError(self.name, f"master status is {state.get('status')}",
                                    str(self.log_file))
        alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
        return f"Spark master {state.get('url')}, {len(alive)} worker(s) alive"


class SparkWorkerService(_SparkDaemon):
    main_class = "org.apache.spark.deploy.worker.Worker"

    def __init__(self, settings: Settings, number: int) -> None:
        super().__init__(settings)
        self.number = number
        self.name = f"spark-worker-{number}"

    @property
    def ui_port(self) -> int:
        return self.settings.spark.cluster_worker_ui_port + self.number - 1

    def ports(self) -> list[Port]:
        return [Port(self.settings.spark.cluster_host, self.ui_port,
                     f"SPARK_CLUSTER_WORKER_UI_PORT (worker {self.number} uses it + {self.number - 1})")]

    def argv(self) -> list[str]:
        spark = self.settings.spark
        return [spark_class(), self.main_class, "--host", spark.cluster_host,
                "--cores", str(spark.cluster_worker_cores),
                "--memory", spark.cluster_worker_memory,
                "--work-dir", str(self.data_dir), "--webui-port", str(self.ui_port),
                "--properties-file", str(self.properties_file), self.master_url]

    def probe(self) -> str:
        spark = self.settings.spark
        address = f"{spark.cluster_host}:{self.ui_port}"
        for worker in self.cluster_state().get("workers", []):
            if worker.get("state") == "ALIVE" and worker.get("webuiaddress", "").endswith(address):
                return (f"Spark worker of {self.master_url}: {worker.get('cores')} core(s), "
                        f"{worker.get('memory')} MB")
        raise ServiceStartError(self.name, f"not registered with {self.master_url} yet",
                                str(self.log_file))
