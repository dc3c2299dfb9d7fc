"""`verify`: compare the chosen tables once, or again and again until they match.

For each replicated table, in one pass:

1. Postgres computes a checksum (row count, XOR of row hashes) per bucket of
   keys, on the server (postgres.py), while
2. the Cassandra replica is read by token ranges, several at once (scan.py),
   and hashed into the same buckets (sums.py); each row read is also turned
   into the rows its query tables must hold (derive.py) and hashed into their
   buckets; then each query table is read and hashed the same way.
3. Only buckets whose checksums differ are read again, row by row (drill.py),
   which names every missing, extra and different row, and explains Postgres
   rows Cassandra cannot store by the dead letters that hold them.

Memory is the bucket checksums, a few pages in flight and at most
VERIFY_MEMORY_ROWS rows of differing buckets: it does not grow with the table.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from binance_cdc.datasets import DATASETS, Dataset
from binance_cdc.errors import BinanceCdcError, ConfigError
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.query_tables import QUERY_TABLES, QueryTable
from binance_cdc.verify import postgres
from binance_cdc.verify.dead_letters import DeadLetter, DeadLetters
from binance_cdc.verify.derive import DerivePlan, plan
from binance_cdc.verify.drill import Comparison, Spill, plan_groups, spill_directory
from binance_cdc.verify.progress import LogProgress, Progress, ProgressFn
from binance_cdc.verify.result import TableDiff, VerifyResult
from binance_cdc.verify.scan import TableScan, splits_for
from binance_cdc.verify.spec import Bucketing, TableSpec, bucket_count, check_cassandra_table
from binance_cdc.verify.sums import BucketSums, Parts, bucket_function, canonical_rows

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
        run = _Run(settings, session, symbols, progress or LogProgress())
        for dataset in DATASETS.values():
            queries = [q for q in QUERY_TABLES if q.source == dataset.name and q.name in names]
            if dataset.name in names or queries:
                diffs.update(run.source(dataset, dataset.name in names, queries))
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


@dataclass(eq=False)
class _Check:
    """One table being verified: its spec, buckets, both sides' sums and time spent."""

    spec: TableSpec
    bucketing: Bucketing
    query: QueryTable | None = None
    derive: DerivePlan | None = None
    expected: BucketSums | None = None
    actual: BucketSums | None = None
    seconds: float = 0.0
    differing: list[int] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    spills: tuple[Spill, Spill] | None = None
    """(expected, actual) rows of differing buckets; the expected side of a replica table
    is read from Postgres instead."""
    comparison: Comparison | None = None

    def __post_init__(self) -> None:
        self.bucket = bucket_function(self.bucketing)

    def diff(self, source: str | None = None) -> TableDiff:
        comparison = self.comparison
        counts = comparison.counts if comparison else {}
        return TableDiff(
            table=self.spec.name, postgres_rows=self.expected.total if self.expected else 0,
            cassandra_rows=self.actual.total if self.actual else 0,
            missing=counts.get("missing", 0), extra=counts.get("extra", 0),
            different=counts.get("different", 0), held=counts.get("held", 0),
            kind="query" if self.query else "replica", source=source,
            samples=tuple(comparison.samples) if comparison else (),
            buckets=self.bucketing.count, differing_buckets=len(self.differing),
            seconds=self.seconds)


class _Run:
    def __init__(self, settings: Settings, session: object, symbols: Sequence[str] | None,
                 progress: ProgressFn) -> None:
        self.settings = settings
        self.pg = settings.postgres
        self.keyspace = settings.cassandra.keyspace
        self.session = session
        self.symbols = None if symbols is None else list(symbols)
        self.progress = progress
        self._dead_letters: DeadLetters | None = None

    # --- one source table and its query tables ------------------------------------------

    def source(self, dataset: Dataset, replica: bool,
               queries: list[QueryTable]) -> dict[str, TableDiff]:
        spec = TableSpec.of_dataset(dataset)
        wanted = ([dataset.name] if replica else []) + [q.name for q in queries]
        try:
            estimate = postgres.estimate_rows(self.pg, dataset.name)
            check_cassandra_table(self.session, self.keyspace, spec)
        except BinanceCdcError as exc:
            return {name: _failed(name, exc) for name in wanted}
        main = _Check(spec, Bucketing(spec, bucket_count(estimate))) if replica else None
        checks: list[_Check] = []
        failed: dict[str, TableDiff] = {}
        for query in queries:
            try:
                target = TableSpec.of_cassandra(self.session, self.keyspace, query.name,
                                                query.columns, query.key)
                checks.append(_Check(target, Bucketing(target, bucket_count(estimate)), query,
                                     plan(query, spec, target)))
            except BinanceCdcError as exc:
                failed[query.name] = _failed(query.name, exc)
        try:
            self._checksums(spec, estimate, main, checks)
            if (main and main.differing) or any(c.differing for c in checks):
                self._drill(spec, estimate, main, checks)
        except BinanceCdcError as exc:
            return {**{name: _failed(name, exc) for name in wanted}, **failed}
        diffs = dict(failed)
        if main:
            diffs[dataset.name] = main.diff()
        for check in checks:
            diffs[check.spec.name] = check.diff(dataset.name)
        return diffs

    def _checksums(self, spec: TableSpec, estimate: int, main: _Check | None,
                   checks: list[_Check]) -> None:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pg_sums = (pool.submit(postgres.bucket_sums, self.pg, spec, main.bucketing,
                                   self.symbols) if main else None)
            if main:
                main.actual = BucketSums(main.bucketing.count)
            for check in checks:
                check.expected = BucketSums(check.bucketing.count)
            derive_s = [0.0] * len(checks)
            for parts in self._rows(spec, estimate, "postgres vs cassandra" if main else
                                    "deriving query tables"):
                if main:
                    main.actual.add_all(main.bucket, parts)  # type: ignore[union-attr]
                for i, check in enumerate(checks):
                    t = time.perf_counter()
                    check.expected.add_all(  # type: ignore[union-attr]
                        check.bucket, check.derive.derive_all(parts))  # type: ignore[union-attr]
                    derive_s[i] += time.perf_counter() - t
            if main and pg_sums:
                main.expected = pg_sums.result()
                main.seconds = time.monotonic() - started - sum(derive_s)
                main.differing = main.expected.differing(main.actual)
        for check, seconds in zip(checks, derive_s):
            began = time.monotonic()
            check.actual = BucketSums(check.bucketing.count)
            for parts in self._rows(check.spec, estimate, f"derived from {spec.name}"):
                check.actual.add_all(check.bucket, parts)
            check.seconds = seconds + time.monotonic() - began
            check.differing = check.expected.differing(check.actual)  # type: ignore[union-attr]

    def _drill(self, spec: TableSpec, estimate: int, main: _Check | None,
               checks: list[_Check]) -> None:
        """Read the rows of differing buckets again and compare them one by one."""
        budget = self.settings.verify.memory_rows
        drilled = [c for c in ([main] if main else []) + checks if c.differing]
        with spill_directory() as directory:
            for check in drilled:
                check.groups = plan_groups(check.differing, check.actual.rows, budget)  # type: ignore[union-attr]
                check.spills = tuple(Spill(Path(directory), f"{check.spec.name}-{side}",  # type: ignore[assignment]
                                           check.groups, check.bucket)
                                     for side in ("expected", "actual"))
            started = time.monotonic()
            derived = [c for c in checks if c.differing]
            if main in drilled or derived:
                for parts in self._rows(spec, estimate, "differing buckets"):
                    if main in drilled:
                        main.spills[1].add_all(parts)  # type: ignore[union-attr]
                    for check in derived:
                        check.spills[0].add_all(check.derive.derive_all(parts))  # type: ignore[union-attr]
            source_s = time.monotonic() - started
            for check in drilled:
                began = time.monotonic()
                if check is not main:
                    for parts in self._rows(check.spec, estimate, "differing buckets"):
                        check.spills[1].add_all(parts)  # type: ignore[index]
                for spill in check.spills:  # type: ignore[union-attr]
                    spill.close()
                check.comparison = self._compare(check)
                check.seconds += source_s / len(drilled) + time.monotonic() - began

    def _compare(self, check: _Check) -> Comparison:
        expected, actual = check.spills  # type: ignore[misc]
        if check.query:
            comparison = Comparison(check.spec)
            for group in range(len(check.groups)):
                comparison.group(expected.rows(group), actual.rows(group))
            return comparison
        comparison = Comparison(check.spec, lambda key: self._dead_letter(check.spec, key))
        for group, members in enumerate(check.groups):
            comparison.group(postgres.rows_in_buckets(self.pg, check.spec, check.bucketing,
                                                      members, self.symbols),
                             actual.rows(group))
        return comparison

    # --- reading ------------------------------------------------------------------------

    def _rows(self, spec: TableSpec, estimate: int, step: str) -> Iterator[list[Parts]]:
        """Pages of canonical rows of a Cassandra table (only the chosen symbols')."""
        config = self.settings.verify
        by_partition = self.symbols is not None and spec.partition_key == ("symbol",)
        scan = TableScan(self.session, self.keyspace, spec, concurrency=config.concurrency,
                         page_size=config.page_size, splits=splits_for(estimate, config.concurrency),
                         partitions=[(s,) for s in self.symbols] if by_partition else None)
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

    def _dead_letter(self, spec: TableSpec, key: tuple[bytes, ...]) -> DeadLetter | None:
        if self._dead_letters is None:
            prefix = f"{self.settings.kafka.topic_prefix}.{self.pg.schema_name}."
            self._dead_letters = DeadLetters.load(
                self.session, self.keyspace,
                {prefix + d.name: TableSpec.of_dataset(d) for d in DATASETS.values()})
        return self._dead_letters.find(spec.name, key)


def _failed(table: str, exc: BaseException) -> TableDiff:
    kind = "query" if table in QUERY_TABLE_NAMES else "replica"
    return TableDiff(table, 0, 0, 0, 0, 0, kind=kind, error=str(exc))


def verify_until(settings: Settings, tables: Sequence[str] | None = None, *,
                 symbols: Sequence[str] | None = None, wait_s: float = 0.0,
                 interval_s: float = RETRY_INTERVAL_S,
                 progress: ProgressFn | None = None) -> VerifyResult:
    """Like :func:`verify`, re-checking tables that differ until they match or ``wait_s`` passes.

    Replication is asynchronous, so a difference right after a write is normal;
    only a difference that outlives the wait is a fault. A table that matched
    once is not checked again.
    """
    started = time.monotonic()
    deadline = started + wait_s
    pending = table_names(tables)
    final: dict[str, TableDiff] = {}
    attempts = 0
    while True:
        attempts += 1
        result = verify(settings, pending, symbols=symbols, progress=progress)
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
