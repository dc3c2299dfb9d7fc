"""Changes of one batch -> the Cassandra writes that apply them. Pure.

Every write carries the change's LSN as its timestamp, so the order in which
writes reach Cassandra does not matter and replays are harmless. Within a
batch only the newest change per row is written (older ones would lose to it
anyway); query-table rows that any change moved away from are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from binance_cdc.sink.query_tables import QueryTable, query_tables_for
from binance_cdc.stream.envelope import Change


@dataclass(frozen=True)
class Write:
    table: str
    kind: Literal["upsert", "delete"]
    values: dict[str, Any]
    """Upsert: every column; delete: the key columns."""
    timestamp: int
    source_ts_ms: int


def newest_per_row(changes: list[Change]) -> list[Change]:
    newest: dict[tuple, Change] = {}
    for change in changes:
        identity = (change.dataset.name, tuple(change.key[k] for k in change.dataset.primary_key))
        current = newest.get(identity)
        if current is None or change.lsn > current.lsn:
            newest[identity] = change
    return list(newest.values())


def plan_writes(changes: list[Change]) -> list[Write]:
    newest = newest_per_row(changes)
    writes = [Write(c.dataset.name, c.op, c.row if c.op == "upsert" else c.key, c.lsn,
                    c.source_ts_ms) for c in newest]
    for change in newest:
        if change.op == "upsert":
            for query in query_tables_for(change.dataset.name):
                writes.append(Write(query.name, "upsert", query.derive(change.row), change.lsn,
                                    change.source_ts_ms))
    for change in changes:
        for query in query_tables_for(change.dataset.name):
            moved = _moved_away(query, change)
            if moved is not None:
                writes.append(Write(query.name, "delete", moved, change.lsn, change.source_ts_ms))
    return writes


def _moved_away(query: QueryTable, change: Change) -> dict[str, Any] | None:
    """The query-table key this change removed its row from, if any."""
    if change.before is None or any(c not in change.before for c in change.dataset.column_names):
        return None  # a key-only before-image: nothing to derive the old row from
    old = query.derive(change.before)
    if change.op == "upsert" and query.key_of(old) == query.key_of(query.derive(change.row)):
        return None
    return {k: old[k] for k in query.key}
