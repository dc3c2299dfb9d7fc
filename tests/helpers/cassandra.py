"""Write replica rows to Cassandra in tests the way the stream does: with USING TIMESTAMP."""

from __future__ import annotations

import datetime as dt
import itertools

from binance_cdc.datasets import REPLICA_META_COLUMNS, Dataset

# Test writes use write timestamps far above any real LSN on purpose: while the stream
# runs it also replicates the tests' Postgres rows, and a test that sets up "missing" or
# "different" must keep that state; a tombstone or row stamped here always wins over
# the stream's LSN-stamped write of the same (test-unique) key.
TEST_WRITE_TS_BASE = 2**62
_lsn = itertools.count(TEST_WRITE_TS_BASE)


def replica_insert_cql(dataset: Dataset, keyspace: str) -> str:
    names = [*dataset.column_names, *(c.name for c in REPLICA_META_COLUMNS)]
    columns = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join(["?"] * len(names))
    return f'INSERT INTO "{keyspace}"."{dataset.name}" ({columns}) VALUES ({marks}) USING TIMESTAMP ?'


def write_replica(session: object, dataset: Dataset, keyspace: str,
                  rows: list[dict[str, object]]) -> None:
    """Insert ``rows`` (dataset columns) with meta columns filled in."""
    statement = session.prepare(replica_insert_cql(dataset, keyspace))  # type: ignore[attr-defined]
    for row in rows:
        lsn = next(_lsn)
        now = dt.datetime.now(dt.timezone.utc)
        values = [row[name] for name in dataset.column_names]
        session.execute(statement, [*values, lsn, now, now, lsn])  # type: ignore[attr-defined]


def delete_replica(session: object, dataset: Dataset, keyspace: str,
                   rows: list[dict[str, object]]) -> None:
    """Delete ``rows`` by primary key, newer than any write_replica timestamp."""
    where = " AND ".join(f'"{k}" = ?' for k in dataset.primary_key)
    statement = session.prepare(  # type: ignore[attr-defined]
        f'DELETE FROM "{keyspace}"."{dataset.name}" USING TIMESTAMP ? WHERE {where}')
    for row in rows:
        session.execute(statement, [next(_lsn), *(row[k] for k in dataset.primary_key)])  # type: ignore[attr-defined]
