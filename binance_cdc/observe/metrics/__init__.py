"""Prometheus metrics of the project's own processes.

Who exports what (all names start with ``binance_cdc_``; JMX metrics of Kafka,
Connect/Debezium and Cassandra come from the JMX exporter agent, rules in
prometheus/jmx/):

    extractor  binance/metrics.py, extract/metrics.py   requests, errors, weight, rows, last loads
    stream     observe/metrics/stream.py                records, rows by table and op, batches,
                                                        dead letters, batch duration, commit->written lag
    exporter   observe/metrics/exporter.py              replication slot, stream consumer lag,
                                                        last stream batch (`binance-cdc exporter`)

Each process serves its registry with :func:`serve` on ``METRICS_HOST`` and its
``METRICS_*_PORT``; a port of 0 serves nothing. Updating a metric costs a lock
and an addition, so an endpoint nobody scrapes costs nothing measurable.
"""

from prometheus_client import disable_created_metrics

from binance_cdc.observe.metrics.server import serve

# The `_created` twin of every counter doubles the series and no rule of ours reads it.
disable_created_metrics()

__all__ = ["serve"]
