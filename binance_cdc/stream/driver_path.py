"""Decoded rows that reach the Spark driver -> Cassandra writes. Pure, no I/O.

Only what the connector cannot write reaches Python: deletes (of the replica
row, and of the query rows derived from the before-image), query rows a change
moved away from (a trade whose trade_time changed day), dead letters, and, when
a connector write failed although Cassandra is up, the batch's upserts so they
can be tried one by one. Each row arrives as a dict of the decoded frame's
columns (binance_cdc/stream/decode.py) with decimals as text and timestamps as
epoch milliseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from binance_cdc.datasets import Dataset, Kind
from binance_cdc.sink.query_tables import query_tables_for
from binance_cdc.sink.writer import DeadLetter, Delete, Upsert
from binance_cdc.stream.decode import (
    ACTION,
    ERROR,
    KEY_TEXT,
    LSN,
    TS_MS,
    VALUE_BYTES,
    VALUE_TEXT,
    before_column,
    moved_column,
)


def python_value(kind: Kind, value: Any) -> Any:
    """A collected value (decimal text, epoch ms) -> what the Cassandra driver binds."""
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(value)
    if kind == "timestamp":
        return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
    return value


def row_values(dataset: Dataset, row: Mapping[str, Any], *, before: bool = False) -> dict[str, Any]:
    """The dataset's columns of ``row`` (its before-image with ``before``), as Python values."""
    name_of = before_column if before else (lambda name: name)
    return {c.name: python_value(c.kind, row[name_of(c.name)]) for c in dataset.columns}


def dead_letter(row: Mapping[str, Any], error: str | None = None) -> DeadLetter:
    return DeadLetter(row["topic"], row["partition"], row["offset"], row["record_ms"],
                      row[KEY_TEXT], row[VALUE_TEXT], row[VALUE_BYTES], error or row[ERROR])


def deletes_of(dataset: Dataset, row: Mapping[str, Any]) -> list[Delete]:
    """The deletes a decoded row asks for: its replica row (op d) and moved query rows."""
    deletes = []
    if row[ACTION] == "delete":
        values = row_values(dataset, row)
        deletes.append(Delete(dataset.name, {k: values[k] for k in dataset.primary_key}, row[LSN]))
    for query in query_tables_for(dataset.name):
        if row[moved_column(query)]:
            old = query.derive(row_values(dataset, row, before=True))
            deletes.append(Delete(query.name, {k: old[k] for k in query.key}, row[LSN]))
    return deletes


def upserts_of(dataset: Dataset, row: Mapping[str, Any]) -> list[Upsert]:
    """The replica row and its query rows, for the row-by-row fallback."""
    if row[ACTION] != "upsert":
        return []
    values = row_values(dataset, row)
    upserts = [Upsert(dataset.name, values, row[LSN], row[TS_MS])]
    upserts += [Upsert(q.name, q.derive(values), row[LSN], row[TS_MS])
                for q in query_tables_for(dataset.name)]
    return upserts
