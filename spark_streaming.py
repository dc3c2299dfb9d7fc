"""Entry point for `spark-submit spark_streaming.py` (same as `binance-cdc stream`).

Streams the Debezium change topics from Kafka into the Cassandra replica and
query tables until stopped with Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import sys

from binance_cdc.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["stream", *sys.argv[1:]]))
