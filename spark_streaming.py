"""The streaming job, for spark-submit:

    spark-submit --properties-file .stack/spark/spark-defaults.conf spark_streaming.py

Streams the Debezium change topics from Kafka into the Cassandra replica and
query tables until stopped with Ctrl-C / SIGTERM. `make setup` writes the
properties file (the connector jars, driver memory, the default master);
`--master spark://host:7077` runs it on a Spark cluster.
"""

from __future__ import annotations

import sys

from binance_cdc.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["stream", *sys.argv[1:]]))
