"""Rows for any declared dataset, built from binance_cdc/datasets.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from binance_cdc.datasets import Dataset

EXTREME_DECIMALS = (Decimal("0.00000001"), Decimal("123456789.12345678"))


def sample_row(dataset: Dataset, symbol: str, n: int = 1) -> dict[str, object]:
    """A valid row whose key starts with ``symbol``; ``n`` varies the other key columns."""
    base = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    row: dict[str, object] = {}
    for i, column in enumerate(dataset.columns):
        if column.name == "symbol":
            row[column.name] = symbol
        elif column.name == "side":
            row[column.name] = "bid"
        elif column.name == "interval":
            row[column.name] = "1m"
        elif column.kind == "decimal":
            row[column.name] = EXTREME_DECIMALS[i % 2] + n
        elif column.kind in ("bigint", "int"):
            row[column.name] = n * 1000 + i
        elif column.kind == "boolean":
            row[column.name] = i % 2 == 0
        elif column.kind == "timestamp":
            row[column.name] = base + dt.timedelta(minutes=n, microseconds=123456)
        else:
            row[column.name] = f"{column.name}-{n}"
    return row


def insert_sql(dataset: Dataset, schema: str) -> str:
    names = ", ".join(f'"{c}"' for c in dataset.column_names)
    marks = ", ".join(["%s"] * len(dataset.columns))
    return f"INSERT INTO {schema}.{dataset.name} ({names}) VALUES ({marks})"


def key_where(dataset: Dataset) -> str:
    return " AND ".join(f'"{k}" = %s' for k in dataset.primary_key)


def first_non_key_column(dataset: Dataset, kind: str = "decimal") -> str:
    return next(c.name for c in dataset.columns if c.name not in dataset.primary_key
                and c.kind == kind)
