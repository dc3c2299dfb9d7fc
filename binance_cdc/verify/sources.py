"""Read every replicated row of a table from Postgres and from Cassandra.

Both readers yield tuples in the dataset's column order and nothing else (no
meta columns). Postgres is streamed through a server-side cursor; Cassandra is
scanned token range by token range with driver paging, so neither side ever
asks a server for the whole table in one request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from binance_cdc.datasets import Dataset
from binance_cdc.errors import SinkError, StoreError
from binance_cdc.settings import PostgresSettings

log = logging.getLogger(__name__)

POSTGRES_ITERSIZE = 10_000
CASSANDRA_PAGE_SIZE = 5_000
CASSANDRA_TOKEN_SPLITS = 16
CASSANDRA_QUERY_TIMEOUT_S = 60.0
MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


def postgres_rows(pg: PostgresSettings, dataset: Dataset,
                  symbols: Sequence[str] | None = None) -> Iterator[tuple[object, ...]]:
    """Every row of ``<schema>.<dataset>`` (optionally of some symbols only)."""
    import psycopg
    from psycopg import sql

    query = sql.SQL("SELECT {columns} FROM {table}").format(
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in dataset.column_names),
        table=sql.Identifier(pg.schema_name, dataset.name))
    params: tuple[object, ...] = ()
    if symbols is not None:
        query = query + sql.SQL(" WHERE symbol = ANY(%s)")
        params = (list(symbols),)
    try:
        with psycopg.connect(pg.dsn()) as conn:
            # A named cursor lives on the server: rows arrive ITERSIZE at a time.
            with conn.cursor(name=f"verify_{dataset.name}", binary=True) as cursor:
                cursor.itersize = POSTGRES_ITERSIZE
                cursor.execute(query, params)
                yield from cursor
    except psycopg.Error as exc:
        raise StoreError(f"cannot read {pg.schema_name}.{dataset.name} from PostgreSQL at "
                         f"{pg.host}:{pg.port}: {exc}".strip(), retryable=True) from exc


def token_ranges(splits: int) -> list[tuple[int, int]]:
    """(exclusive start, inclusive end) pairs covering the whole Murmur3 ring."""
    width = (MAX_TOKEN - MIN_TOKEN) // splits
    bounds = [MIN_TOKEN + i * width for i in range(splits)] + [MAX_TOKEN]
    return list(zip(bounds, bounds[1:]))


def cassandra_rows(session: object, keyspace: str, dataset: Dataset,
                   symbols: Sequence[str] | None = None, *,
                   splits: int = CASSANDRA_TOKEN_SPLITS) -> Iterator[tuple[object, ...]]:
    """Every row of the replica table ``keyspace.<dataset>`` (optionally of some symbols).

    ``session`` is a connected driver session (:func:`binance_cdc.sink.connection.cassandra_session`).
    """
    from cassandra import DriverException
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, NoHostAvailable
    from cassandra.protocol import ErrorMessage
    from cassandra.query import SimpleStatement, tuple_factory

    columns = ", ".join(f'"{c}"' for c in dataset.column_names)
    table = f'"{keyspace}"."{dataset.name}"'
    # Tuples, not named rows: cheaper, and values come back in the dataset's column order.
    profile = session.execution_profile_clone_update(  # type: ignore[attr-defined]
        EXEC_PROFILE_DEFAULT, row_factory=tuple_factory, request_timeout=CASSANDRA_QUERY_TIMEOUT_S)
    try:
        if symbols is not None and dataset.partition_key == ("symbol",):
            # The symbol is the whole partition key: read just those partitions.
            statement = SimpleStatement(f"SELECT {columns} FROM {table} WHERE symbol = %s",
                                        fetch_size=CASSANDRA_PAGE_SIZE)
            for symbol in symbols:
                yield from session.execute(statement, (symbol,),  # type: ignore[attr-defined]
                                           execution_profile=profile)
            return
        wanted = None if symbols is None else set(symbols)
        symbol_at = dataset.column_names.index("symbol")
        token = ", ".join(f'"{c}"' for c in dataset.partition_key)
        statement = SimpleStatement(
            f"SELECT {columns} FROM {table} WHERE token({token}) > %s AND token({token}) <= %s",
            fetch_size=CASSANDRA_PAGE_SIZE)
        for start, end in token_ranges(splits):
            for row in session.execute(statement, (start, end),  # type: ignore[attr-defined]
                                       execution_profile=profile):
                if wanted is None or row[symbol_at] in wanted:
                    yield row
    except (DriverException, NoHostAvailable, ErrorMessage) as exc:
        raise SinkError(f"cannot read {keyspace}.{dataset.name} from Cassandra: {exc}; does the "
                        "table exist? (`binance-cdc cassandra apply`)", retryable=True) from exc
