"""What verify found: per table, counts of every kind of difference and examples of each."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Difference = Literal["missing", "extra", "different", "held"]


@dataclass(frozen=True)
class RowDifference:
    """One row that is not the same on both sides."""

    kind: Difference
    key: dict[str, str | None]
    columns: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """Column -> (expected, in Cassandra): every differing column of a ``different`` or
    ``held`` row; every column of a ``missing`` (expected only) or ``extra`` (Cassandra only)."""
    note: str | None = None
    """Why, when known: held in dead letters (topic, partition, offset, error), or a
    value Cassandra cannot store that is not in dead_letters."""


@dataclass(frozen=True)
class TableDiff:
    """How one Cassandra table differs from what it must contain."""

    table: str
    postgres_rows: int
    """Rows it must contain: the Postgres table's for a replica table; for a query table,
    the rows derived from its source's Cassandra replica."""
    cassandra_rows: int
    missing: int
    """Rows expected that Cassandra lacks."""
    extra: int
    """Rows in Cassandra that are not expected."""
    different: int
    """Rows on both sides whose compared columns differ."""
    held: int = 0
    """Postgres rows Cassandra cannot store, found in dead_letters: explained, not counted
    as differences."""
    kind: Literal["replica", "query"] = "replica"
    source: str | None = None
    """For a query table: the replica table it is derived from."""
    samples: tuple[RowDifference, ...] = ()
    """The first few rows of each kind (every held row up to a limit)."""
    buckets: int = 0
    differing_buckets: int = 0
    seconds: float = 0.0
    error: str | None = None
    """Set when the table could not be verified; the counts are then meaningless."""

    @property
    def matches(self) -> bool:
        return self.error is None and self.missing == self.extra == self.different == 0

    @property
    def rows_per_s(self) -> float:
        return max(self.postgres_rows, self.cassandra_rows) / self.seconds if self.seconds else 0.0

    def sample_keys(self, kind: Difference) -> tuple[dict[str, str | None], ...]:
        return tuple(s.key for s in self.samples if s.kind == kind)

    @property
    def sample_missing(self) -> tuple[dict[str, str | None], ...]:
        return self.sample_keys("missing")

    @property
    def sample_extra(self) -> tuple[dict[str, str | None], ...]:
        return self.sample_keys("extra")

    @property
    def sample_different(self) -> tuple[dict[str, str | None], ...]:
        return self.sample_keys("different")


@dataclass(frozen=True)
class VerifyResult:
    """The comparison of every table asked for."""

    tables: tuple[TableDiff, ...]
    attempts: int = 1
    elapsed_s: float = 0.0
    symbols: tuple[str, ...] | None = None
    """The symbol filter, if the comparison was restricted to some symbols."""

    @property
    def matches(self) -> bool:
        return all(t.matches for t in self.tables)

    @property
    def failed(self) -> bool:
        """Whether some table could not be verified at all."""
        return any(t.error for t in self.tables)

    def table(self, name: str) -> TableDiff:
        return next(t for t in self.tables if t.table == name)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``--json``)."""
        data = asdict(self)
        data["matches"] = self.matches
        for table, diff in zip(data["tables"], self.tables, strict=True):
            table["matches"] = diff.matches
            table["rows_per_s"] = round(diff.rows_per_s)
        return data
