"""One table being verified: how its rows are bucketed, both sides' checksums, what differs."""

from __future__ import annotations

from dataclasses import dataclass, field

from binance_cdc.sink.query_tables import QueryTable
from binance_cdc.verify.derive import DerivePlan
from binance_cdc.verify.drill import Comparison
from binance_cdc.verify.result import TableDiff
from binance_cdc.verify.spec import Bucketing, TableSpec
from binance_cdc.verify.sums import BucketSums, bucket_function


@dataclass(eq=False)
class Check:
    spec: TableSpec
    bucketing: Bucketing
    query: QueryTable | None = None
    """Set for a query table, whose expected rows are derived."""
    derive: DerivePlan | None = None
    expected: BucketSums | None = None
    """Postgres' checksums (replica table) or those of the derived rows (query table)."""
    actual: BucketSums | None = None
    """Cassandra's checksums."""
    seconds: float = 0.0
    differing: list[int] = field(default_factory=list)
    rescan: list[int] = field(default_factory=list)
    """Differing buckets whose rows only a scan can find."""
    comparison: Comparison = field(init=False)

    def __post_init__(self) -> None:
        self.bucket = bucket_function(self.bucketing)
        self.comparison = Comparison(self.spec)

    def compare_sums(self) -> None:
        assert self.expected is not None and self.actual is not None
        self.differing = self.expected.differing(self.actual)

    def diff(self, source: str | None = None) -> TableDiff:
        counts = self.comparison.counts
        return TableDiff(
            table=self.spec.name, postgres_rows=self.expected.total if self.expected else 0,
            cassandra_rows=self.actual.total if self.actual else 0,
            missing=counts["missing"], extra=counts["extra"], different=counts["different"],
            held=counts["held"], kind="query" if self.query else "replica", source=source,
            samples=tuple(self.comparison.samples), buckets=self.bucketing.count,
            differing_buckets=len(self.differing), seconds=self.seconds)

    def aligned_with(self, source: Check) -> bool:
        """Whether a derived row falls in the bucket of the source row it comes from.

        True when both bucket by value, with as many buckets, and the query table's bucket
        column is a copy of the source's: then a query-table bucket's expected rows come
        from the same source bucket, and can be found without a scan.
        """
        mine, theirs = self.bucketing.integer_position, source.bucketing.integer_position
        return (self.derive is not None and mine is not None and theirs is not None
                and self.bucketing.count == source.bucketing.count
                and self.derive.copied[mine] == theirs)
