"""Rows per Cassandra table for `status`: exact when cheap, an estimate marked as such when not.

``SELECT count(*)`` reads the whole table, so it is only asked for tables that
the statistics say are small (or that have none yet), with a timeout. A large
table shows an estimate: Cassandra's own (system.size_estimates, partitions
summed over the token ranges) where a partition is one row, Postgres'
statistics (pg_class.reltuples) of the replicated table otherwise. A count
that times out falls back to the estimate.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from binance_cdc.datasets import DATASETS
from binance_cdc.errors import StoreError
from binance_cdc.observe.report import CassandraSection
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings
from binance_cdc.sink.query_tables import QUERY_TABLES

if TYPE_CHECKING:
    from cassandra.cluster import Session

log = logging.getLogger(__name__)

COUNT_TIMEOUT_S = 5.0
EXACT_BELOW = 200_000
"""Tables estimated below this many rows are counted exactly."""
# Replica tables, then the tables the stream writes besides them.
COUNTED_TABLES = (*DATASETS, *(q.name for q in QUERY_TABLES), "dead_letters")
ONE_ROW_PARTITIONS = {name for name, d in DATASETS.items() if d.partition_key == d.primary_key}
"""Tables where Cassandra's partition estimate is a row estimate."""


def postgres_estimates(settings: Settings) -> dict[str, int]:
    """pg_class.reltuples of the replicated tables that have statistics."""
    import psycopg

    pg = settings.postgres
    try:
        with connect(pg) as conn:
            rows = conn.execute(
                "SELECT c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
                (pg.schema_name, list(DATASETS))).fetchall()
    except (psycopg.Error, StoreError) as exc:
        log.debug("no Postgres statistics: %s", exc)
        return {}
    return {name: n for name, n in rows if n >= 0}


def cassandra_estimates(session: Session, keyspace: str) -> dict[str, int]:
    """Partitions per table, summed over the token ranges of system.size_estimates."""
    rows = session.execute(
        "SELECT table_name, partitions_count FROM system.size_estimates WHERE keyspace_name = %s",
        (keyspace,), timeout=COUNT_TIMEOUT_S)
    totals: dict[str, int] = {}
    for table, partitions in rows:
        totals[table] = totals.get(table, 0) + partitions
    return totals


def estimate(table: str, cassandra: dict[str, int],
             postgres: dict[str, int]) -> tuple[int, str] | None:
    """(rows, where the figure comes from) for one table, or None if nothing knows."""
    if table in ONE_ROW_PARTITIONS and cassandra.get(table):
        return cassandra[table], "Cassandra size estimates"
    source = next((q.source for q in QUERY_TABLES if q.name == table), table)
    if source in postgres:
        return postgres[source], f"Postgres statistics of {source}"
    if table in cassandra:
        return cassandra[table], "Cassandra size estimates (partitions; rows may be more)"
    return None


def count_rows(settings: Settings, session: Session, section: CassandraSection, *,
               exact_below: int = EXACT_BELOW) -> None:
    """Fill ``section.counts`` (and ``estimated`` for the figures that are estimates)."""
    try:
        from_cassandra = cassandra_estimates(session, settings.cassandra.keyspace)
    except Exception as exc:  # noqa: BLE001 - estimates are a nicety; counting may still work
        log.debug("no Cassandra size estimates: %s", exc)
        from_cassandra = {}
    from_postgres = postgres_estimates(settings)
    guesses = {t: estimate(t, from_cassandra, from_postgres) for t in COUNTED_TABLES}
    # All counts at once: each is bounded by the timeout, so the section is too.
    futures = {table: session.execute_async(
        f'SELECT count(*) FROM "{table}"', timeout=COUNT_TIMEOUT_S)
        for table, guess in guesses.items() if guess is None or guess[0] < exact_below}
    for table in COUNTED_TABLES:
        guess = guesses[table]
        future = futures.get(table)
        if future is not None:
            try:
                section.counts[table] = future.result().one()[0]
                continue
            except Exception as exc:  # noqa: BLE001 - the driver's timeouts and refusals alike
                section.count_errors[table] = f"{type(exc).__name__}: {exc}"
        if guess is None:
            section.counts[table] = None
        else:
            section.counts[table], section.estimated[table] = guess
