"""`verify`: compare the chosen tables once, or again and again until they match.

For each replicated table, in one pass:

1. Postgres computes a checksum (row count, XOR of row hashes) per bucket of
   keys, on the server (postgres.py), while
2. the Cassandra replica is read by token ranges, several at once (scan.py),
   and hashed into the same buckets (sums.py); each row read is also turned
   into the rows its query tables must hold (derive.py) and hashed into their
   buckets; then each query table is read and hashed the same way.
3. Only buckets whose checksums differ are looked at again, row by row: their
   expected rows by key and Cassandra's unexpected ones by partition token
   (pinpoint.py), a scan only when that cannot work (drill.py). Every
   missing, extra and different row is named; Postgres rows Cassandra cannot
   store are explained by the dead letters that hold them.

Memory is the bucket checksums, a few pages in flight and a bounded number of
rows of differing buckets (VERIFY_MEMORY_ROWS): it does not grow with the table.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal

from binance_cdc.datasets import DATASETS, Dataset
from binance_cdc.errors import BinanceCdcError, ConfigError
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.query_tables import QUERY_TABLES, QueryTable
from binance_cdc.verify import postgres
from binance_cdc.verify.check import Check
from binance_cdc.verify.dead_letters import DeadLetter, DeadLetters
from binance_cdc.verify.derive import plan
from binance_cdc.verify.pinpoint import MAX_KEY_READS, pinpoint
from binance_cdc.verify.progress import LogProgress, Progress, ProgressFn
from binance_cdc.verify.rescan import rescan
from binance_cdc.verify.result import TableDiff, VerifyResult
from binance_cdc.verify.scan import KeyedReads, TableScan, splits_for
from binance_cdc.verify.spec import Bucketing, TableSpec, bucket_count, check_cassandra_table
from binance_cdc.verify.sums import BucketSums, Parts, canonical_rows

if TYPE_CHECKING:
    from cassandra.cluster import Session

log = logging.getLogger(__name__)

RETRY_INTERVAL_S = 2.0
QUERY_TABLE_NAMES = tuple(q.name for q in QUERY_TABLES)
ALL_TABLES = (*DATASETS, *QUERY_TABLE_NAMES)


def table_names(tables: Sequence[str] | None) -> list[str]:
    """The tables to verify, in a stable order (default: every replica and query table)."""
    names = list(tables or ALL_TABLES)
    unknown = [n for n in names if n not in ALL_TABLES]
    if unknown:
        raise ConfigError(f"cannot verify {', '.join(unknown)}: expected some of "
                          f"{', '.join(ALL_TABLES)}")
    return [n for n in ALL_TABLES if n in names]


def verify(settings: Settings, tables: Sequence[str] | None = None, *,
           symbols: Sequence[str] | None = None, progress: ProgressFn | None = None) -> VerifyResult:
    """Compare each table (default: all) once.

    ``symbols`` restricts every side to rows of those symbols (tests share the
    tables with other tests). A table that cannot be read gets a diff with
    ``error`` set (and does not match); an unreachable Cassandra raises.
    """
    started = time.monotonic()
    names = table_names(tables)
    diffs: dict[str, TableDiff] = {}
    with cassandra_session(settings.cassandra, timeout_s=10.0) as session:
        run = Run(settings, session, symbols, progress or LogProgress())
        for dataset in DATASETS.values():
            queries = [q for q in QUERY_TABLES if q.source == dataset.name and q.name in names]
            if dataset.name in names or queries:
                found = run.source(dataset, queries)
                diffs.update({name: diff for name, diff in found.items() if name in names})
    for diff in diffs.values():
        _log(diff)
    return VerifyResult(tuple(diffs[n] for n in names), elapsed_s=time.monotonic() - started,
                        symbols=None if symbols is None else tuple(symbols))


def _log(diff: TableDiff) -> None:
    if diff.error:
        log.warning("%s: could not verify: %s", diff.table, diff.error)
        return
    log.info("%s: %d expected, %d in cassandra; %d missing, %d extra, %d different, %d held in "
             "dead letters (%.1fs, %.0f rows/s)", diff.table, diff.postgres_rows,
             diff.cassandra_rows, diff.missing, diff.extra, diff.different, diff.held,
             diff.seconds, diff.rows_per_s)


class Run:
    """One verify run: the connections, the symbol filter and what it has read so far."""

    def __init__(self, settings: Settings, session: Session, symbols: Sequence[str] | None,
                 progress: ProgressFn) -> None:
        self.settings = settings
        self.pg = settings.postgres
        self.keyspace = settings.cassandra.keyspace
        self.session = session
        self.symbols = None if symbols is None else list(symbols)
        self.progress = progress
        self._dead_letters: DeadLetters | None = None

    def source(self, dataset: Dataset, queries: list[QueryTable]) -> dict[str, TableDiff]:
        """The replica table of ``dataset`` and its ``queries``, checked in one pass."""
        spec = TableSpec.of_dataset(dataset)
        names = [dataset.name, *(q.name for q in queries)]
        try:
            estimate = postgres.estimate_rows(self.pg, dataset.name)
            check_cassandra_table(self.session, self.keyspace, spec)
        except BinanceCdcError as exc:
            return {name: _failed(name, exc) for name in names}
        # The replica is checked even when only its query tables were asked for: its
        # checksums tell which of its rows the query tables' expected rows can come from.
        main = Check(spec, Bucketing(spec, bucket_count(estimate)))
        main.comparison.dead_letter = lambda key: self._dead_letter(spec, key)
        checks: list[Check] = []
        failed: dict[str, TableDiff] = {}
        for query in queries:
            try:
                target = TableSpec.of_cassandra(self.session, self.keyspace, query.name,
                                                query.columns, query.key)
                checks.append(Check(target, Bucketing(target, bucket_count(estimate)), query,
                                    plan(query, spec, target)))
            except BinanceCdcError as exc:
                failed[query.name] = _failed(query.name, exc)
        splits = splits_for(estimate, self.settings.verify.concurrency)
        try:
            self._checksums(main, checks, splits, estimate)
            if main.differing or any(c.differing for c in checks):
                self._resolve(main, checks)
                if main.rescan or any(c.rescan for c in checks):
                    rescan(self, main, checks, splits, estimate)
        except BinanceCdcError as exc:
            return {**{name: _failed(name, exc) for name in names}, **failed}
        return {dataset.name: main.diff(), **failed,
                **{c.spec.name: c.diff(dataset.name) for c in checks}}

    def _checksums(self, main: Check, checks: list[Check], splits: int, estimate: int) -> None:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pg_sums = pool.submit(postgres.bucket_sums, self.pg, main.spec, main.bucketing,
                                  self.symbols)
            main.actual = BucketSums(main.bucketing.count)
            for check in checks:
                check.expected = BucketSums(check.bucketing.count)
            derive_s = [0.0] * len(checks)
            for parts, tokens in self.rows(main.spec, splits, estimate, "postgres vs cassandra"):
                main.actual.add_all(main.bucket(parts), parts, tokens)
                for i, check in enumerate(checks):
                    assert check.derive is not None and check.expected is not None
                    began = time.perf_counter()
                    derived = check.derive.derive_all(parts)
                    check.expected.add_all(check.bucket(derived), derived)
                    derive_s[i] += time.perf_counter() - began
            main.expected = pg_sums.result()
        main.seconds = time.monotonic() - started - sum(derive_s)
        main.compare_sums()
        for check, seconds in zip(checks, derive_s):
            began = time.monotonic()
            check.actual = BucketSums(check.bucketing.count)
            for parts, tokens in self.rows(check.spec, splits, estimate,
                                           f"derived from {main.spec.name}"):
                check.actual.add_all(check.bucket(parts), parts, tokens)
            check.seconds = seconds + time.monotonic() - began
            check.compare_sums()

    def _resolve(self, main: Check, checks: list[Check]) -> None:
        """Compare the differing buckets row by row, finding Cassandra's rows by key and token."""
        assert main.expected is not None and main.actual is not None
        began = time.monotonic()
        # source bucket -> Cassandra's rows, for the differing source buckets
        replica: dict[int, list[Parts]] = {}
        if sum(main.expected.rows[b] for b in main.differing) > MAX_KEY_READS:
            main.rescan = list(main.differing)
        elif main.differing:
            expected = list(postgres.rows_in_buckets(self.pg, main.spec, main.bucketing,
                                                     main.differing, self.symbols))
            found = pinpoint(KeyedReads(self.session, self.keyspace, main.spec), main.spec,
                             main.bucket, main.actual, main.differing, expected,
                             keep=self._keep(main.spec))
            main.rescan = found.unresolved
            _compare(main, expected, found.rows, found.resolved)
            for parts, bucket in zip(found.rows, main.bucket(found.rows)):
                replica.setdefault(bucket, []).append(parts)
        main.seconds += time.monotonic() - began
        for check in checks:
            began = time.monotonic()
            self._resolve_query(main, check, replica)
            check.seconds += time.monotonic() - began

    def _resolve_query(self, main: Check, check: Check, replica: dict[int, list[Parts]]) -> None:
        if not check.differing:
            return
        assert check.expected is not None and check.actual is not None and check.derive is not None
        if (not check.aligned_with(main) or set(check.differing) & set(main.rescan)
                or sum(check.expected.rows[b] for b in check.differing) > MAX_KEY_READS):
            check.rescan = list(check.differing)
            return
        # The same buckets of the replica hold the source rows: Postgres' where the replica
        # matched them, the ones just read where it did not.
        matching = [b for b in check.differing if b not in set(main.differing)]
        source = list(postgres.rows_in_buckets(self.pg, main.spec, main.bucketing, matching,
                                               self.symbols)) if matching else []
        source += [p for b in check.differing for p in replica.get(b, ())]
        expected = check.derive.derive_all(source)
        found = pinpoint(KeyedReads(self.session, self.keyspace, check.spec), check.spec,
                         check.bucket, check.actual, check.differing, expected,
                         keep=self._keep(check.spec))
        check.rescan = found.unresolved
        _compare(check, expected, found.rows, found.resolved)

    def _keep(self, spec: TableSpec) -> Callable[[Parts], bool] | None:
        """Whether a row is of the chosen symbols (None: every row is)."""
        if self.symbols is None:
            return None
        at, wanted = spec.columns.index("symbol"), {s.encode() for s in self.symbols}
        return lambda parts: parts[at] in wanted

    def rows(self, spec: TableSpec, splits: int, estimate: int,
             step: str) -> Iterator[tuple[list[Parts], list[int]]]:
        """Pages of (canonical rows, tokens) of a Cassandra table (only the chosen symbols')."""
        config = self.settings.verify
        by_partition = self.symbols is not None and spec.partition_key == ("symbol",)
        scan = TableScan(self.session, self.keyspace, spec, concurrency=config.concurrency,
                         page_size=config.page_size, splits=splits,
                         partitions=[(s,) for s in self.symbols or ()] if by_partition else None)
        wanted = (None if self.symbols is None or by_partition
                  else {s.encode() for s in self.symbols})
        at = spec.columns.index("symbol") if wanted is not None else 0
        started = time.monotonic()
        rows = 0
        expected = None if by_partition else estimate
        for page in scan.pages():
            rows += len(page)
            if wanted is not None:
                page = [r for r in page if r[at] in wanted]
            yield canonical_rows(page, spec.decimal_positions)
            self.progress(Progress(spec.name, step, rows, expected, time.monotonic() - started))
        self.progress(Progress(spec.name, step, rows, expected, time.monotonic() - started,
                               done=True))

    def expected_rows(self, check: Check, buckets: list[int]) -> Iterator[Parts]:
        """Postgres' rows of a replica table in ``buckets``."""
        return postgres.rows_in_buckets(self.pg, check.spec, check.bucketing, buckets,
                                        self.symbols)

    def _dead_letter(self, spec: TableSpec, key: tuple[bytes, ...]) -> DeadLetter | None:
        if self._dead_letters is None:
            prefix = f"{self.settings.kafka.topic_prefix}.{self.pg.schema_name}."
            self._dead_letters = DeadLetters.load(
                self.session, self.keyspace,
                {prefix + d.name: TableSpec.of_dataset(d) for d in DATASETS.values()})
        return self._dead_letters.find(spec.name, key)


def _compare(check: Check, expected: list[Parts], found: list[Parts], resolved: set[int]) -> None:
    """Compare the rows of the resolved buckets (the others are left to a rescan)."""
    check.comparison.group(
        [p for p, b in zip(expected, check.bucket(expected)) if b in resolved], found)


def _failed(table: str, exc: BaseException) -> TableDiff:
    kind: Literal["replica", "query"] = "query" if table in QUERY_TABLE_NAMES else "replica"
    return TableDiff(table, 0, 0, 0, 0, 0, kind=kind, error=str(exc))


def verify_until(settings: Settings, tables: Sequence[str] | None = None, *,
                 symbols: Sequence[str] | None = None, wait_s: float = 0.0,
                 interval_s: float = RETRY_INTERVAL_S,
                 progress: ProgressFn | None = None) -> VerifyResult:
    """Like :func:`verify`, re-checking tables that differ until they match or ``wait_s`` passes.

    Replication is asynchronous, so a difference right after a write is normal;
    only a difference that outlives the wait is a fault. A table that matched
    once is not checked again. An error that says a retry can help (Cassandra not
    reachable yet) is also waited out; any other is raised at once.
    """
    started = time.monotonic()
    deadline = started + wait_s
    pending = table_names(tables)
    final: dict[str, TableDiff] = {}
    attempts = 0
    while True:
        attempts += 1
        try:
            result = verify(settings, pending, symbols=symbols, progress=progress)
        except BinanceCdcError as exc:
            if not exc.retryable or time.monotonic() + interval_s > deadline:
                raise
            log.info("attempt %d: %s; trying again in %.0fs", attempts, exc, interval_s)
            time.sleep(interval_s)
            continue
        final.update({d.table: d for d in result.tables})
        pending = [d.table for d in result.tables if not d.matches]
        if not pending or time.monotonic() + interval_s > deadline:
            break
        log.info("attempt %d: %s differ; checking again in %.0fs", attempts,
                 ", ".join(pending), interval_s)
        time.sleep(interval_s)
    ordered = tuple(final[name] for name in table_names(tables))
    return dataclasses.replace(result, tables=ordered, attempts=attempts,
                               elapsed_s=time.monotonic() - started)
