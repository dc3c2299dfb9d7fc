"""The rows of differing buckets that only a scan can find, with bounded memory.

When a bucket holds two or more rows Cassandra should not have, or the
differing buckets hold too many rows to read by key (pinpoint.py), the table
is read again and the rows of those buckets are kept in temporary files, one
per group of buckets small enough to hold in memory. Each group is then
compared: Cassandra's rows in memory, the expected rows streamed past them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from binance_cdc.verify.check import Check
from binance_cdc.verify.drill import Spill, plan_groups, spill_directory
from binance_cdc.verify.sums import Parts

if TYPE_CHECKING:
    from binance_cdc.verify.run import Run


def rescan(run: Run, main: Check, checks: list[Check], splits: int, estimate: int) -> None:
    """Compare the ``rescan`` buckets of every check row by row, reading each table once more."""
    budget = run.settings.verify.memory_rows
    drilled = [c for c in (main, *checks) if c.rescan]
    with spill_directory() as directory:
        plans: dict[Check, tuple[list[list[int]], Spill, Spill]] = {}
        for check in drilled:
            assert check.actual is not None
            groups = plan_groups(check.rescan, check.actual.rows, budget)
            expected, actual = (Spill(Path(directory), f"{check.spec.name}-{side}", groups,
                                      check.bucket) for side in ("expected", "actual"))
            plans[check] = (groups, expected, actual)
        began = time.monotonic()
        derived = [c for c in checks if c.rescan]
        for parts, _ in run.rows(main.spec, splits, estimate, "rescanning differing buckets"):
            if main.rescan:
                plans[main][2].add_all(parts)
            for check in derived:
                assert check.derive is not None
                plans[check][1].add_all(check.derive.derive_all(parts))
        shared_s = (time.monotonic() - began) / len(drilled)
        for check in drilled:
            began = time.monotonic()
            groups, expected, actual = plans[check]
            if check is not main:
                for parts, _ in run.rows(check.spec, splits, estimate,
                                         "rescanning differing buckets"):
                    actual.add_all(parts)
            expected.close()
            actual.close()
            for group, members in enumerate(groups):
                check.comparison.group(_expected(run, check, expected, group, members),
                                       actual.rows(group))
            check.seconds += shared_s + time.monotonic() - began


def _expected(run: Run, check: Check, spill: Spill, group: int,
              members: list[int]) -> Iterator[Parts]:
    if check.query is None:
        return run.expected_rows(check, members)
    return spill.rows(group)
