"""`verify`: compare the chosen tables once, or again and again until they match."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence

from binance_cdc.datasets import DATASETS, Dataset
from binance_cdc.errors import BinanceCdcError, ConfigError
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.verify.compare import TableDiff, VerifyResult, compare_rows
from binance_cdc.verify.sources import cassandra_rows, postgres_rows

log = logging.getLogger(__name__)

RETRY_INTERVAL_S = 2.0


def _datasets(tables: Sequence[str] | None) -> list[Dataset]:
    names = list(tables or DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise ConfigError(f"cannot verify {', '.join(unknown)}: expected some of "
                          f"{', '.join(DATASETS)}")
    return [DATASETS[n] for n in names]


def verify(settings: Settings, tables: Sequence[str] | None = None, *,
           symbols: Sequence[str] | None = None) -> VerifyResult:
    """Compare each table (default: all five) in Postgres and Cassandra once.

    ``symbols`` restricts both sides to rows of those symbols (tests share the
    tables with other tests). A table that cannot be read on one side gets a
    diff with ``error`` set (and does not match); an unreachable Cassandra raises.
    """
    started = time.monotonic()
    datasets = _datasets(tables)
    diffs = []
    with cassandra_session(settings.cassandra, timeout_s=10.0) as session:
        for dataset in datasets:
            diffs.append(_verify_table(settings, session, dataset, symbols))
    return VerifyResult(tuple(diffs), elapsed_s=time.monotonic() - started,
                        symbols=None if symbols is None else tuple(symbols))


def _verify_table(settings: Settings, session: object, dataset: Dataset,
                  symbols: Sequence[str] | None) -> TableDiff:
    try:
        diff = compare_rows(dataset, postgres_rows(settings.postgres, dataset, symbols),
                            cassandra_rows(session, settings.cassandra.keyspace, dataset, symbols))
    except BinanceCdcError as exc:
        log.warning("%s: %s", dataset.name, exc)
        return TableDiff(dataset.name, 0, 0, 0, 0, 0, error=str(exc))
    log.info("%s: %d rows in postgres, %d in cassandra; %d missing, %d extra, %d different "
             "(%.1fs)", diff.table, diff.postgres_rows, diff.cassandra_rows, diff.missing,
             diff.extra, diff.different, diff.seconds)
    return diff


def verify_until(settings: Settings, tables: Sequence[str] | None = None, *,
                 symbols: Sequence[str] | None = None, wait_s: float = 0.0,
                 interval_s: float = RETRY_INTERVAL_S) -> VerifyResult:
    """Like :func:`verify`, re-checking tables that differ until they match or ``wait_s`` passes.

    Replication is asynchronous, so a difference right after a write is normal;
    only a difference that outlives the wait is a fault. A table that matched
    once is not checked again.
    """
    started = time.monotonic()
    deadline = started + wait_s
    pending = [d.name for d in _datasets(tables)]
    final: dict[str, TableDiff] = {}
    attempts = 0
    while True:
        attempts += 1
        result = verify(settings, pending, symbols=symbols)
        final.update({d.table: d for d in result.tables})
        pending = [d.table for d in result.tables if not d.matches]
        if not pending or time.monotonic() + interval_s > deadline:
            break
        log.info("attempt %d: %s differ; checking again in %.0fs", attempts,
                 ", ".join(pending), interval_s)
        time.sleep(interval_s)
    ordered = tuple(final[d.name] for d in _datasets(tables))
    return dataclasses.replace(result, tables=ordered, attempts=attempts,
                               elapsed_s=time.monotonic() - started)
