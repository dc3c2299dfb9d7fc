"""The Postgres side: per-bucket checksums computed by the server, rows of chosen buckets.

The checksum query is one GROUP BY over the table: Postgres hashes every row
itself (md5 of the canonical text, see canonical.py) and sends back one line
per bucket, so the table never travels to us when it matches. Only the rows of
buckets that differ are read, through a server-side cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from binance_cdc.errors import StoreError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import PostgresSettings
from binance_cdc.verify.canonical import quote, sql_hash64, sql_row_text, sql_text
from binance_cdc.verify.spec import Bucketing, TableSpec
from binance_cdc.verify.sums import BucketSums, Parts

log = logging.getLogger(__name__)

ITERSIZE = 5_000


def _table(pg: PostgresSettings, spec: TableSpec) -> str:
    return f"{quote(pg.schema_name)}.{quote(spec.name)}"


def _where(symbols: Sequence[str] | None) -> tuple[str, tuple[object, ...]]:
    if symbols is None:
        return "", ()
    return " WHERE symbol = ANY(%s)", (list(symbols),)


def _text_exprs(spec: TableSpec) -> list[str]:
    return [sql_text(c, k, nullable=n) for c, k, n in zip(spec.columns, spec.kinds, spec.nullable)]


def checksum_sql(pg: PostgresSettings, spec: TableSpec, bucketing: Bucketing,
                 symbols: Sequence[str] | None = None) -> tuple[str, tuple[object, ...]]:
    texts = _text_exprs(spec)
    where, params = _where(symbols)
    return (f"SELECT bucket, count(*), bit_xor(h) FROM (SELECT {bucketing.sql(texts)} AS bucket, "
            f"{sql_hash64(sql_row_text(texts))} AS h FROM {_table(pg, spec)}{where}) AS rows "
            "GROUP BY bucket", params)


def estimate_rows(pg: PostgresSettings, table: str) -> int:
    """About how many rows a table has: Postgres' statistics, or a count if it has none yet.

    It sizes the buckets and the token ranges; a stale figure costs time, never correctness.
    """
    import psycopg

    try:
        with connect(pg) as conn:
            row = conn.execute(
                "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
                (pg.schema_name, table)).fetchone()
            if row is None:
                raise StoreError(f"PostgreSQL has no table {pg.schema_name}.{table}; create the "
                                 "schema (`binance-cdc stack up` applies sql/) or check "
                                 "POSTGRES_SCHEMA")
            if row[0] >= 0:
                return int(row[0])
            # Never analyzed (-1): count it, once.
            [(count,)] = conn.execute(f"SELECT count(*) FROM {quote(pg.schema_name)}."
                                      f"{quote(table)}").fetchall()
            return int(count)
    except psycopg.Error as exc:
        raise StoreError(f"cannot read {pg.schema_name}.{table} in PostgreSQL: {exc}".strip(),
                         retryable=True) from exc


def bucket_sums(pg: PostgresSettings, spec: TableSpec, bucketing: Bucketing,
                symbols: Sequence[str] | None = None) -> BucketSums:
    """Row count and hash XOR per bucket, computed by Postgres."""
    import psycopg

    query, params = checksum_sql(pg, spec, bucketing, symbols)
    sums = BucketSums(bucketing.count)
    try:
        with connect(pg) as conn, conn.transaction():
            # The planner guesses a group per row and would sort; a hash table of at most
            # 65521 buckets is what this needs.
            conn.execute("SET LOCAL enable_sort = off")
            for bucket, rows, xor in conn.execute(query, params):
                sums.set(bucket, rows, xor)
    except psycopg.Error as exc:
        raise StoreError(f"cannot checksum {pg.schema_name}.{spec.name} in PostgreSQL: "
                         f"{exc}".strip(), retryable=True) from exc
    return sums


def rows_in_buckets(pg: PostgresSettings, spec: TableSpec, bucketing: Bucketing,
                    buckets: Sequence[int], symbols: Sequence[str] | None = None) -> Iterator[Parts]:
    """Canonical parts of every row in ``buckets``, streamed."""
    import psycopg

    texts = _text_exprs(spec)
    where, params = _where(symbols)
    where = (where + " AND " if where else " WHERE ") + f"{bucketing.sql(texts)} = ANY(%s)"
    query = f"SELECT {', '.join(texts)} FROM {_table(pg, spec)}{where}"
    try:
        with connect(pg) as conn, conn.transaction():
            with conn.cursor(name=f"verify_{spec.name}") as cursor:
                cursor.itersize = ITERSIZE
                cursor.execute(query, (*params, list(buckets)))
                for row in cursor:
                    yield tuple(v.encode() for v in row)
    except psycopg.Error as exc:
        raise StoreError(f"cannot read {pg.schema_name}.{spec.name} from PostgreSQL: "
                         f"{exc}".strip(), retryable=True) from exc
