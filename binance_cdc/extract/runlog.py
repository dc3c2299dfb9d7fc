"""The run log: one row per dataset run in binance.extraction_runs (not replicated)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from binance_cdc.errors import StoreError
from binance_cdc.postgres.store import PostgresStore, WriteCount

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What one dataset run did; becomes a log row and a summary line."""

    dataset: str
    started_at: datetime
    finished_at: datetime
    status: str  # ok | partial | failed
    symbols: list[str]
    counts: WriteCount = field(default_factory=WriteCount)
    requests: int = 0
    weight: int = 0
    waited_s: float = 0.0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> str:
        line = (f"{self.dataset:<13} {self.status:<7} inserted={self.counts.inserted} "
                f"updated={self.counts.updated} deleted={self.counts.deleted} "
                f"requests={self.requests} weight={self.weight} "
                f"duration={self.duration_s:.2f}s symbols={len(self.symbols)}")
        if self.waited_s >= 0.05:
            line += f" waited={self.waited_s:.1f}s"
        skipped = self.details.get("skipped")
        if skipped:
            line += f" skipped={','.join(skipped)}"
        if self.error:
            line += f" error={self.error}"
        return line


def record(store: PostgresStore, result: RunResult) -> None:
    """Append ``result`` to the run log; a failure to log is reported, never raised."""
    try:
        with store.transaction() as cur:
            cur.execute(sql.SQL(
                "INSERT INTO {} (dataset, started_at, finished_at, status, symbols, rows_inserted, "
                "rows_updated, rows_deleted, requests, weight_used, error, details) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING run_id"
            ).format(store.table("extraction_runs")), (
                result.dataset, result.started_at, result.finished_at, result.status,
                result.symbols, result.counts.inserted, result.counts.updated,
                result.counts.deleted, result.requests, result.weight, result.error,
                Jsonb(result.details)))
            row = cur.fetchone()
            result.run_id = row[0] if row else None
    except StoreError as exc:
        log.warning("could not record the %s run in extraction_runs: %s", result.dataset, exc)
