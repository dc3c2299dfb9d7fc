"""Read a Cassandra table by token ranges, several ranges at once, one page at a time.

Worker threads each take a token range, fetch it page by page (the driver's
paging state) and hand the pages over through a small queue: the caller hashes
one page while the next ones are being read, and at most ``2 x concurrency``
pages are held at any moment whatever the table's size. A page that times out
is asked for again from the same paging state, so one slow moment does not
fail a long scan.

Every row comes with its partition's token as a last column: it is how verify
finds a row it did not expect again, without a second scan (pinpoint.py).
:class:`KeyedReads` reads rows by primary key and partitions by token.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal, cast

from binance_cdc.errors import SinkError
from binance_cdc.verify.canonical import cql_selector, decode, quote, unrepresentable
from binance_cdc.verify.spec import TableSpec

if TYPE_CHECKING:
    from cassandra.cluster import ExecutionProfile, ResultSet, Session
    from cassandra.query import PreparedStatement

log = logging.getLogger(__name__)

MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1
QUERY_TIMEOUT_S = 60.0
RETRIES = 4
_DONE = object()


def token_ranges(splits: int) -> list[tuple[int, int]]:
    """(exclusive start, inclusive end] pairs covering the whole Murmur3 ring."""
    width = (MAX_TOKEN - MIN_TOKEN) // splits
    bounds = [MIN_TOKEN + i * width for i in range(splits)] + [MAX_TOKEN]
    return list(itertools.pairwise(bounds))


def splits_for(estimated_rows: int, concurrency: int) -> int:
    """Enough ranges to keep every worker busy, each a few pages long."""
    return max(concurrency * 4, min(4096, estimated_rows // 50_000))


def select_cql(spec: TableSpec, keyspace: str, *,
               by: Literal["range", "partition", "key", "token"] = "range") -> str:
    """SELECT of the canonical selectors and the token, by token range, partition key,
    primary key or token."""
    token = f"token({', '.join(quote(c) for c in spec.partition_key)})"
    columns = ", ".join(cql_selector(c, k) for c, k in zip(spec.columns, spec.kinds))
    table = f"{quote(keyspace)}.{quote(spec.name)}"
    where = {
        "range": f"{token} > ? AND {token} <= ?",
        "partition": " AND ".join(f"{quote(c)} = ?" for c in spec.partition_key),
        "key": " AND ".join(f"{quote(c)} = ?" for c in spec.key),
        "token": f"{token} = ?",
    }[by]
    return f"SELECT {columns}, {token} FROM {table} WHERE {where}"


class TableScan:
    """Every row of one Cassandra table as tuples of canonical-ish bytes (see canonical.py).

    ``partitions`` restricts the scan to those partition keys (e.g. some symbols
    of a table partitioned by symbol); otherwise the whole ring is read.
    """

    def __init__(self, session: Session, keyspace: str, spec: TableSpec, *, concurrency: int,
                 page_size: int, splits: int,
                 partitions: Sequence[tuple[object, ...]] | None = None) -> None:
        self.session = session
        self.keyspace = keyspace
        self.spec = spec
        self.concurrency = max(1, concurrency)
        self.page_size = page_size
        self.work: list[tuple[object, ...]] = (list(partitions) if partitions is not None
                                                else list(token_ranges(splits)))
        self.cql = select_cql(spec, keyspace, by="range" if partitions is None else "partition")

    def pages(self) -> Iterator[list[tuple[bytes | None, ...]]]:
        session = self.session
        statement = _prepare(session, self.cql, self.keyspace, self.spec.name)
        statement.fetch_size = self.page_size
        profile = _tuples(session)
        work: queue.SimpleQueue[tuple[object, ...]] = queue.SimpleQueue()
        for unit in self.work:
            work.put(unit)
        pages: queue.Queue[object] = queue.Queue(maxsize=self.concurrency * 2)
        stop = threading.Event()

        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    pages.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def worker() -> None:
            try:
                while not stop.is_set():
                    try:
                        params = work.get_nowait()
                    except queue.Empty:
                        break
                    state = None
                    while True:
                        result = self._page(statement, params, state, profile)
                        if not put(result.current_rows):
                            return
                        state = result.paging_state
                        if state is None:
                            break
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                put(exc)
            finally:
                put(_DONE)

        threads = [threading.Thread(target=worker, name=f"verify-scan-{i}", daemon=True)
                   for i in range(min(self.concurrency, len(self.work)) or 1)]
        for thread in threads:
            thread.start()
        finished = 0
        try:
            while finished < len(threads):
                item = pages.get()
                if item is _DONE:
                    finished += 1
                elif isinstance(item, BaseException):
                    if isinstance(item, SinkError):
                        raise item
                    raise _sink_error(self.keyspace, self.spec.name, item) from item
                else:
                    yield cast("list[tuple[bytes | None, ...]]", item)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=QUERY_TIMEOUT_S)

    def _page(self, statement: object, params: tuple[object, ...], state: bytes | None,
              profile: object) -> ResultSet:
        from cassandra import OperationTimedOut, ReadFailure, ReadTimeout, Unavailable

        for attempt in range(RETRIES + 1):
            try:
                return self.session.execute(
                    statement, params, paging_state=state, execution_profile=profile)
            except (OperationTimedOut, ReadTimeout, ReadFailure, Unavailable) as exc:
                if attempt == RETRIES:
                    raise
                delay = 2.0 ** attempt
                log.warning("%s.%s: a page timed out (%s); asking again in %.0fs",
                            self.keyspace, self.spec.name, type(exc).__name__, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")


class KeyedReads:
    """Rows of one table read by primary key or by partition token (canonical parts + token)."""

    def __init__(self, session: Session, keyspace: str, spec: TableSpec, *,
                 concurrency: int = 32) -> None:
        self.session = session
        self.keyspace = keyspace
        self.spec = spec
        self.concurrency = concurrency

    def by_keys(self, keys: Sequence[tuple[bytes, ...]]) -> list[tuple[bytes | None, ...]]:
        """The rows of those canonical keys that exist (raw, token last)."""
        from cassandra.concurrent import execute_concurrent_with_args

        statement = _prepare(self.session, select_cql(self.spec, self.keyspace, by="key"),
                             self.keyspace, self.spec.name)
        kinds = [self.spec.kind(c) for c in self.spec.key]
        params = []
        for key in keys:
            if unrepresentable(key):  # NaN, 'infinity': Cassandra can hold no such key
                continue
            try:
                params.append([decode(text, kind) for text, kind in zip(key, kinds)])
            except (ValueError, OverflowError):  # beyond what the driver can send: not there
                continue
        try:
            results = execute_concurrent_with_args(
                self.session, statement, params, concurrency=self.concurrency,
                raise_on_first_error=True, execution_profile=_tuples(self.session))
        except Exception as exc:  # the driver's errors have no common base
            raise _sink_error(self.keyspace, self.spec.name, exc) from exc
        return [row for _, result in results for row in result]

    def by_token(self, token: int, page_size: int = 5000) -> Iterator[list[tuple[bytes | None, ...]]]:
        """The partition with that token, a page at a time (raw rows, token last): a
        partition of a query table can hold millions of rows."""
        statement = _prepare(self.session, select_cql(self.spec, self.keyspace, by="token"),
                             self.keyspace, self.spec.name)
        statement.fetch_size = page_size
        state = None
        try:
            while True:
                result = self.session.execute(
                    statement, (token,), paging_state=state,
                    execution_profile=_tuples(self.session))
                yield result.current_rows
                state = result.paging_state
                if state is None:
                    return
        except Exception as exc:  # the driver's errors have no common base
            raise _sink_error(self.keyspace, self.spec.name, exc) from exc


def _prepare(session: Session, cql: str, keyspace: str, table: str) -> PreparedStatement:
    try:
        return session.prepare(cql)
    except Exception as exc:  # the driver's errors have no common base
        raise _sink_error(keyspace, table, exc) from exc


def _tuples(session: Session) -> ExecutionProfile:
    """An execution profile returning plain tuples (cheaper than named rows)."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT
    from cassandra.query import tuple_factory

    return session.execution_profile_clone_update(
        EXEC_PROFILE_DEFAULT, row_factory=tuple_factory, request_timeout=QUERY_TIMEOUT_S)


def _sink_error(keyspace: str, table: str, exc: BaseException) -> SinkError:
    return SinkError(f"cannot read {keyspace}.{table} from Cassandra: "
                     f"{type(exc).__name__}: {exc}".strip(), retryable=True)
