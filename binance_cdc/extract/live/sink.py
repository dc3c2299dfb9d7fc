"""Batches of accepted trades, committed together with the progress they complete.

:meth:`TradeSink.add` queues a row (from the stream, or from a REST repair);
:meth:`TradeSink.wait_s` says when the oldest queued row has waited
LIVE_FLUSH_INTERVAL_S (less the time a commit takes) or LIVE_BATCH_ROWS are
waiting; :meth:`TradeSink.cut` takes the batch and the tracker's progress, and
:meth:`TradeSink.write` (in a worker thread) commits both in one transaction.
Rows are inserted with ``ON CONFLICT DO NOTHING`` (the tracker already dropped
the duplicates within a batch): a trade already present (REST backfill, a
replay) is not touched, so Debezium sees no second change for it. A failed
write is put back with :meth:`TradeSink.restore` and tried again.
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from dataclasses import dataclass, field

from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.extract.live import progress
from binance_cdc.extract.live.tracker import Gap, Tracker
from binance_cdc.postgres.store import PostgresStore, WriteCount, copy_insert_new

Progress = dict[str, tuple[int, list[Gap]]]
RECENT_COMMITS = 10


@dataclass
class Batch:
    rows: list[tuple[object, ...]]
    event_ms: list[int]
    """Event times of the rows that came from the stream (repairs have none)."""
    progress: Progress
    queued_at: float


@dataclass
class LatencyLog:
    """Event time -> Postgres commit, in ms, of the streamed trades: all of a run (up to
    ``limit``, compactly) and those since the last :meth:`take_recent` (the periodic log)."""

    limit: int = 2_000_000
    samples: array[int] = field(default_factory=lambda: array("l"))
    recent: list[int] = field(default_factory=list)

    def add(self, values: list[int]) -> None:
        room = self.limit - len(self.samples)
        self.samples.extend(values[:room] if room < len(values) else values)
        self.recent.extend(values)

    def take_recent(self) -> list[int]:
        taken, self.recent = self.recent, []
        return taken


class TradeSink:
    """The queue between the feeds/repairs and Postgres."""

    def __init__(self, store: PostgresStore, tracker: Tracker) -> None:
        self.store = store
        self.tracker = tracker
        self.table = store.table(RECENT_TRADES.name)
        self._rows: list[tuple[object, ...]] = []
        self._event_ms: list[int] = []
        self._progress: Progress = {}
        self._since: float | None = None
        self.latency = LatencyLog()
        self.written = 0
        self.commits = 0
        self._recent_commits: deque[float] = deque(maxlen=RECENT_COMMITS)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: tuple[object, ...], event_ms: int | None, now: float) -> None:
        self._rows.append(row)
        if event_ms is not None:
            self._event_ms.append(event_ms)
        self.touch(now)

    def touch(self, now: float) -> None:
        """Something (a row, or only progress) is waiting to be committed since ``now``."""
        if self._since is None:
            self._since = now

    def wait_s(self, now: float, interval_s: float, batch_rows: int) -> float | None:
        """Seconds until the next commit is due (0: now); None when nothing waits."""
        if self._since is None:
            return None
        if len(self._rows) >= batch_rows:
            return 0.0
        return max(0.0, self._since + interval_s - self.commit_s - now)

    @property
    def commit_s(self) -> float:
        """The slowest of the recent commits: a batch starts that much before its deadline,
        so its rows are committed, not merely sent, within the flush interval."""
        return max(self._recent_commits, default=0.0)

    def cut(self) -> Batch:
        """Take everything queued, with the progress it completes."""
        for symbol, last, gaps in self.tracker.progress():
            self._progress[symbol] = (last, gaps)
        batch = Batch(self._rows, self._event_ms, self._progress, self._since or 0.0)
        self._rows, self._event_ms, self._progress, self._since = [], [], {}, None
        return batch

    def restore(self, batch: Batch) -> None:
        """Put a batch that failed to commit back in front of what queued since."""
        self._rows = batch.rows + self._rows
        self._event_ms = batch.event_ms + self._event_ms
        self._progress = {**batch.progress, **self._progress}
        self._since = batch.queued_at if self._since is None else min(self._since,
                                                                         batch.queued_at)

    def write(self, batch: Batch) -> WriteCount:
        """Commit ``batch`` in one transaction (worker thread); record its latencies."""
        started = time.monotonic()
        with self.store.transaction() as cur:
            count = copy_insert_new(cur, self.table, RECENT_TRADES, batch.rows)
            progress.save(cur, self.store, [(s, last, gaps)
                                            for s, (last, gaps) in batch.progress.items()])
        committed_ms = time.time_ns() // 1_000_000
        self._recent_commits.append(time.monotonic() - started)
        self.latency.add([committed_ms - e for e in batch.event_ms])
        self.written += count.inserted
        self.commits += 1
        return count
