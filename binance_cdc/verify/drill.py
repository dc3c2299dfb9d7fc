"""Row by row, within the buckets that differ: the comparison, and spill files for rescans.

:class:`Comparison` takes Cassandra's rows of some buckets into memory (key ->
row) and streams the expected rows of the same buckets past them: a key not
found is missing, a row not equal is different, whatever is left is extra.
Rows are compared by their canonical values, not by hash, so what is reported
is exact. :class:`Spill` keeps rows found by a rescan on disk, one file per
group of buckets small enough to hold in memory (group sizes are known from
the bucket counts).
"""

from __future__ import annotations

import marshal
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from binance_cdc.verify.canonical import display, unrepresentable
from binance_cdc.verify.dead_letters import DeadLetter
from binance_cdc.verify.result import Difference, RowDifference
from binance_cdc.verify.spec import TableSpec
from binance_cdc.verify.sums import Parts

SAMPLES = 10
HELD_SAMPLES = 20
UNREPRESENTABLE = ("holds a value Cassandra cannot store (NaN, Infinity or an infinite "
                   "timestamp) and is not in dead_letters")


def plan_groups(buckets: Sequence[int], sizes: Sequence[int], budget: int) -> list[list[int]]:
    """Split ``buckets`` into groups whose ``sizes`` add up to at most ``budget`` rows each."""
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for bucket in buckets:
        if current and total + sizes[bucket] > budget:
            groups.append(current)
            current, total = [], 0
        current.append(bucket)
        total += sizes[bucket]
    if current:
        groups.append(current)
    return groups


class Spill:
    """Rows of chosen buckets, kept on disk in one file per group."""

    def __init__(self, directory: Path, name: str, groups: list[list[int]],
                 buckets_of: Callable[[Sequence[Parts]], list[int]]) -> None:
        self.paths = [directory / f"{name}-{g}.rows" for g in range(len(groups))]
        self.group_of = {b: g for g, members in enumerate(groups) for b in members}
        self.buckets_of = buckets_of
        self._files: dict[int, BinaryIO] = {}

    def add_all(self, rows: Sequence[Parts]) -> None:
        group_of, files = self.group_of, self._files
        for parts, bucket in zip(rows, self.buckets_of(rows)):
            group = group_of.get(bucket)
            if group is not None:
                out = files.get(group)
                if out is None:
                    out = files[group] = self.paths[group].open("ab")
                marshal.dump(parts, out)

    def close(self) -> None:
        for out in self._files.values():
            out.close()
        self._files.clear()

    def rows(self, group: int) -> Iterator[Parts]:
        path = self.paths[group]
        if not path.exists():
            return
        with path.open("rb") as source:
            while True:
                try:
                    yield marshal.load(source)  # noqa: S302 - written by add_all() above
                except EOFError:
                    return


def spill_directory() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="binance-cdc-verify-")


class Comparison:
    """Counts and examples of the differences of one table, built group by group."""

    def __init__(self, spec: TableSpec,
                 dead_letter: Callable[[tuple[bytes, ...]], DeadLetter | None] | None = None) -> None:
        self.spec = spec
        self.dead_letter = dead_letter
        self.counts: dict[Difference, int] = {"missing": 0, "extra": 0, "different": 0, "held": 0}
        self.samples: list[RowDifference] = []

    def group(self, expected: Iterable[Parts], actual: Iterable[Parts]) -> None:
        """Compare the expected rows of some buckets with the Cassandra rows of the same buckets."""
        key_of = self.spec.key_of
        found = {key_of(parts): parts for parts in actual}
        for parts in expected:
            theirs = found.pop(key_of(parts), None)
            if theirs is None:
                self._note("missing", parts, None)
            elif theirs != parts:
                self._note("different", parts, theirs)
        for theirs in found.values():
            self._note("extra", None, theirs)

    def _note(self, kind: Difference, ours: Parts | None, theirs: Parts | None) -> None:
        note = None
        if ours is not None and unrepresentable(ours):
            letter = None if self.dead_letter is None else self.dead_letter(self.spec.key_of(ours))
            if letter is not None:
                kind, note = "held", letter.describe()
            else:
                note = UNREPRESENTABLE
        self.counts[kind] += 1
        limit = HELD_SAMPLES if kind == "held" else SAMPLES
        if sum(1 for s in self.samples if s.kind == kind) < limit:
            self.samples.append(self._describe(kind, ours, theirs, note))

    def _describe(self, kind: Difference, ours: Parts | None, theirs: Parts | None,
                  note: str | None) -> RowDifference:
        spec = self.spec
        row = ours if ours is not None else theirs
        assert row is not None
        key = {c: display(row[i], spec.kinds[i]) for c, i in zip(spec.key, spec.key_positions)}
        columns = {}
        for i, (column, kind_) in enumerate(zip(spec.columns, spec.kinds)):
            a = None if ours is None else ours[i]
            b = None if theirs is None else theirs[i]
            if a != b or ours is None or theirs is None:
                columns[column] = (None if a is None else display(a, kind_),
                                   None if b is None else display(b, kind_))
        return RowDifference(kind, key, columns, note)
