"""A Postgres schema and a Cassandra keyspace of their own, loaded directly, not by the stream.

`bench verify` and verify's tests need large tables whose contents they
control exactly, without touching real data and without waiting for
replication: a sandbox holds the binance tables under another name — Postgres
tables UNLOGGED and outside the publication, so Debezium never sees them — and
is dropped afterwards. Its settings point verify at it
(``POSTGRES_SCHEMA``/``CASSANDRA_KEYSPACE``).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import logging
import random
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from binance_cdc.datasets import DATASETS
from binance_cdc.errors import SinkError, StoreError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.query_tables import QueryTable
from binance_cdc.sink.schema import apply_schema
from binance_cdc.verify.canonical import epoch_ms

if TYPE_CHECKING:
    from cassandra.cluster import ResponseFuture, Session

log = logging.getLogger(__name__)

BATCH_ROWS = 100
CONCURRENCY = 8
RETRIES = 5
TRADES_PER_DAY_PER_SYMBOL = 200_000
"""Spreads generated trades over days, so trades_by_day has many partitions."""


@dataclass(frozen=True)
class Sandbox:
    name: str
    settings: Settings
    """The caller's settings with POSTGRES_SCHEMA and CASSANDRA_KEYSPACE set to the sandbox."""

    @classmethod
    def create(cls, settings: Settings, prefix: str = "sandbox") -> Sandbox:
        """A new empty copy of every binance table in both stores."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        sandbox = cls(name, settings.model_copy(update={
            "postgres": settings.postgres.model_copy(update={"schema_name": name}),
            "cassandra": settings.cassandra.model_copy(update={"keyspace": name})}))
        try:
            sandbox._create_postgres(settings.postgres.schema_name)
            sandbox._create_cassandra()
        except BaseException:
            sandbox.drop()
            raise
        return sandbox

    def _create_postgres(self, template: str) -> None:
        import psycopg

        try:
            with connect(self.settings.postgres) as conn:
                conn.execute(f'CREATE SCHEMA "{self.name}"')
                for table in DATASETS:
                    conn.execute(f'CREATE UNLOGGED TABLE "{self.name}"."{table}" '
                                 f'(LIKE "{template}"."{table}" INCLUDING ALL)')
        except psycopg.Error as exc:
            raise StoreError(f"cannot create the sandbox schema {self.name}: {exc}") from exc

    def _create_cassandra(self) -> None:
        apply_schema(self.settings.cassandra)  # the keyspace, its tables, the stream role's grants
        with cassandra_session(self.settings.cassandra, timeout_s=10, admin=True) as session:
            # Throwaway data: no commit log, so loading costs the node less.
            session.execute(f'ALTER KEYSPACE "{self.name}" WITH durable_writes = false',
                            timeout=60)

    def drop(self) -> None:
        """Remove the schema and the keyspace (whatever of them exists)."""
        import psycopg

        try:
            with connect(self.settings.postgres) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        except (psycopg.Error, StoreError) as exc:
            log.warning("could not drop the sandbox schema %s: %s", self.name, exc)
        try:
            with cassandra_session(self.settings.cassandra, timeout_s=10, admin=True) as session:
                session.execute(f'DROP KEYSPACE IF EXISTS "{self.name}"',
                                timeout=60)
        except SinkError as exc:
            log.warning("could not drop the sandbox keyspace %s: %s", self.name, exc)

    def copy_into_postgres(self, table: str, columns: Sequence[str],
                           rows: Iterable[Sequence[object]]) -> int:
        """COPY rows into the sandbox's Postgres table; returns how many."""
        import psycopg

        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        try:
            with connect(self.settings.postgres, autocommit=False) as conn, conn.cursor() as cur:
                with cur.copy(f'COPY "{self.name}"."{table}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
        except psycopg.Error as exc:
            raise StoreError(f"cannot load {self.name}.{table} into PostgreSQL: {exc}") from exc
        return count

    def insert_into_cassandra(self, session: Session, table: str, columns: Sequence[str],
                              rows: Iterable[Sequence[object]]) -> int:
        """Insert rows into the sandbox's Cassandra table in unlogged batches; returns how many."""
        return insert_rows(session, self.name, table, columns, rows)


def _json_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return f'"{value}"'  # a string: Cassandra reads it with BigDecimal, scale and all
    if isinstance(value, dt.datetime):
        return str(epoch_ms(value))
    if isinstance(value, dt.date):
        return f'"{value.isoformat()}"'
    return json.dumps(value)


class CassandraLoader:
    """Rows into one Cassandra table: concurrent unlogged batches of ``INSERT ... JSON``.

    JSON costs the client a fraction of binding every value. Rows of one partition go
    into one batch where they come close together (Cassandra applies such a batch as
    one write); the others are batched across partitions. A batch that times out is
    sent again (inserts are idempotent).
    """

    def __init__(self, session: Session, keyspace: str, table: str, columns: Sequence[str]) -> None:
        self.session = session
        self.statement = session.prepare(
            f'INSERT INTO "{keyspace}"."{table}" JSON ?')
        meta = session.cluster.metadata.keyspaces[keyspace].tables[table]
        self.partition = [list(columns).index(c.name) for c in meta.partition_key]
        self.names = [json.dumps(c) + ":" for c in columns]
        self.pending: dict[tuple[object, ...], list[str]] = {}
        self.in_flight: collections.deque[tuple[object, object]] = collections.deque()
        self.count = 0

    def add(self, rows: Iterable[Sequence[object]]) -> None:
        pending, names = self.pending, self.names
        for row in rows:
            self.count += 1
            key = tuple(row[i] for i in self.partition)
            group = pending.setdefault(key, [])
            group.append("{" + ",".join(n + _json_value(v) for n, v in zip(names, row)) + "}")
            if len(group) == BATCH_ROWS:
                self._send(pending.pop(key))
            elif len(pending) > BATCH_ROWS:
                self._send([r for waiting in pending.values() for r in waiting])
                pending.clear()

    def finish(self) -> int:
        self._send([r for waiting in self.pending.values() for r in waiting])
        self.pending.clear()
        while self.in_flight:
            _settle(self.session, *self.in_flight.popleft())
        return self.count

    def _send(self, documents: list[str]) -> None:
        from cassandra.query import BatchStatement, BatchType

        for start in range(0, len(documents), BATCH_ROWS):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for document in documents[start:start + BATCH_ROWS]:
                batch.add(self.statement, (document,))
            self.in_flight.append((batch, self.session.execute_async(batch)))
            if len(self.in_flight) >= CONCURRENCY:
                _settle(self.session, *self.in_flight.popleft())


def insert_rows(session: Session, keyspace: str, table: str, columns: Sequence[str],
                rows: Iterable[Sequence[object]]) -> int:
    """All ``rows`` into one table (see :class:`CassandraLoader`); returns how many."""
    # Batches spanning partitions draw a server warning each; loading is what they are for here.
    with quiet_driver():
        loader = CassandraLoader(session, keyspace, table, columns)
        loader.add(rows)
        return loader.finish()


@contextlib.contextmanager
def quiet_driver() -> Iterator[None]:
    driver_log = logging.getLogger("cassandra")
    level = driver_log.level
    driver_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        driver_log.setLevel(level)


def _settle(session: Session, batch: object, future: ResponseFuture) -> None:
    from cassandra import DriverException, OperationTimedOut, WriteTimeout

    for attempt in range(RETRIES + 1):
        try:
            future.result()
            return
        except (OperationTimedOut, WriteTimeout) as exc:
            if attempt == RETRIES:
                raise SinkError(f"a sandbox insert timed out {RETRIES + 1} times: {exc}",
                                retryable=True) from exc
            time.sleep(2.0 ** attempt)
            future = session.execute_async(batch)
        except DriverException as exc:
            raise SinkError(f"a sandbox insert failed: {exc}") from exc


def trade_rows(count: int, *, symbols: Sequence[str], seed: int = 7,
               start: dt.datetime = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
               ) -> Iterator[tuple[object, ...]]:
    """``count`` recent_trades rows (column order of datasets.py), spread over symbols and days.

    Prices and quantities carry Binance's 8 decimals with trailing zeros.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic trades, not secrets
    step = dt.timedelta(days=1) / TRADES_PER_DAY_PER_SYMBOL
    eight = Decimal("1E-8")
    for i in range(count):
        symbol = symbols[i % len(symbols)]
        n = i // len(symbols)
        cents = rng.randint(1_000, 9_000_000)
        price = Decimal(f"{cents // 100}.{cents % 100:02d}000000")
        qty = Decimal(f"0.{rng.randint(1, 99_999_999):08d}")
        yield (symbol, n + 1, price, qty, (price * qty).quantize(eight),
               start + n * step, rng.random() < 0.5, True)


def derived_rows(query: QueryTable, rows: Iterable[Sequence[object]],
                 source_columns: Sequence[str]) -> Iterator[tuple[object, ...]]:
    """The query table's rows for ``rows``, by its own derive (what the stream writes)."""
    for row in rows:
        out = query.derive(dict(zip(source_columns, row)))
        yield tuple(out[c] for c in query.columns)
