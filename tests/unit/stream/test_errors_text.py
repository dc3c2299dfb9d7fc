"""The one-line summaries of Spark and py4j errors that the stream logs."""

from __future__ import annotations

import pytest

from binance_cdc.stream.errors_text import summary

JAVA = ("An error occurred while calling o3188.save.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAG.scala:2)\n"
        "Caused by: java.io.IOException: Failed to prepare statement\n"
        "\tat com.datastax.spark.connector.writer.TableWriter.prepare(TableWriter.scala:1)\n"
        "Caused by: com.datastax.oss.driver.api.core.servererrors.SyntaxError: line 1:218 no "
        "viable alternative at character '_'\n")
PROXY = ("An exception was raised by the Python Proxy. Return Message: Traceback (most recent "
         "call last):\n  File \"/x/batch.py\", line 86, in __call__\n    decoded = decode()\n"
         "binance_cdc.errors.StoreError: cannot read the current WAL position\n")


@pytest.mark.parametrize(("error", "expected"), [
    (JAVA, "com.datastax.oss.driver.api.core.servererrors.SyntaxError: line 1:218 no viable "
           "alternative at character '_'"),
    (PROXY, "binance_cdc.errors.StoreError: cannot read the current WAL position"),
    ("An error occurred while calling o1.save.\n: java.lang.IllegalStateException: boom\n",
     "java.lang.IllegalStateException: boom"),
    ("plain", "plain"),
    (None, "stopped"),
], ids=["java-root-cause", "python-proxy", "java-no-cause", "plain", "none"])
def test_the_summary_names_the_real_error(error, expected) -> None:
    assert summary(error) == expected
