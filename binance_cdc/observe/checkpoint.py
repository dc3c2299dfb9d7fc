"""The Kafka offsets a Structured Streaming query has processed, from its checkpoint.

Spark writes ``offsets/<batchId>`` when it plans a micro-batch (a version line,
a metadata JSON line, then one line per source: ``{"topic": {"partition":
offset}}``, the offsets the batch reads up to) and ``commits/<batchId>`` once
the batch has been written. The offsets of the newest batch that has a commit
are therefore what the stream has processed; a newer uncommitted batch is in
flight (or will be replayed after a restart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from binance_cdc.datasets import DATASETS


@dataclass(frozen=True)
class CheckpointOffsets:
    """Offsets of one micro-batch from a checkpoint's offset log."""

    batch_id: int
    committed: bool
    """True if ``commits/<batch_id>`` exists, i.e. the batch was written."""
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    """Topic -> partition -> the offset the batch read up to (exclusive)."""
    path: str = ""
    newest_batch_id: int | None = None
    """The newest planned batch, which may still be running."""


def parse_offsets_log(text: str) -> dict[str, dict[int, int]]:
    """Topic -> partition -> offset from the text of one ``offsets/<batchId>`` file."""
    merged: dict[str, dict[int, int]] = {}
    # Line 0 is the log version, line 1 the batch metadata; every later line is one
    # source's offsets ("-" for a source that has none yet).
    for line in text.strip().splitlines()[2:]:
        try:
            source = json.loads(line)
        except ValueError:
            continue
        if not isinstance(source, dict):
            continue
        for topic, partitions in source.items():
            if isinstance(partitions, dict):
                merged.setdefault(topic, {}).update(
                    {int(p): int(o) for p, o in partitions.items()})
    return merged


def _batch_ids(directory: Path) -> list[int]:
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())


def processed_offsets(checkpoint_dir: Path) -> CheckpointOffsets | None:
    """The newest committed batch's offsets (or the newest planned one if none is committed).

    None when the checkpoint has no offset log yet (the query never started).
    """
    planned = _batch_ids(checkpoint_dir / "offsets")
    if not planned:
        return None
    committed = set(_batch_ids(checkpoint_dir / "commits"))
    done = [b for b in planned if b in committed]
    batch = done[-1] if done else planned[-1]
    path = checkpoint_dir / "offsets" / str(batch)
    return CheckpointOffsets(batch_id=batch, committed=bool(done),
                             offsets=parse_offsets_log(path.read_text(errors="replace")),
                             path=str(path), newest_batch_id=planned[-1])


def processed_offsets_of_queries(checkpoint_dir: Path) -> CheckpointOffsets | None:
    """:func:`processed_offsets` merged over the stream's queries, one per table, each
    checkpointed in ``<checkpoint_dir>/<table>`` (each reads its own topic)."""
    if (checkpoint_dir / "offsets").is_dir():
        return processed_offsets(checkpoint_dir)
    # Only the replica queries: the trade metrics query reads recent_trades' topic too.
    found = [c for c in (processed_offsets(sub) for sub in sorted(checkpoint_dir.iterdir())
                         if sub.is_dir() and sub.name in DATASETS)
             if c is not None] if checkpoint_dir.is_dir() else []
    if not found:
        return None
    merged: dict[str, dict[int, int]] = {}
    for checkpoint in found:
        for topic, partitions in checkpoint.offsets.items():
            merged.setdefault(topic, {}).update(partitions)
    return CheckpointOffsets(batch_id=max(c.batch_id for c in found),
                             committed=all(c.committed for c in found), offsets=merged,
                             path=str(checkpoint_dir),
                             newest_batch_id=max(c.newest_batch_id or 0 for c in found))


def records_behind(marks: dict[int, tuple[int, int]], done: dict[int, int] | None) -> int:
    """Records of one topic the stream has not processed yet.

    ``marks`` is partition -> (low, high) watermarks; ``done`` the checkpoint's
    offsets of the topic (None: never read). A partition counts from its
    checkpoint offset, or from its earliest retained record if it has none or
    retention already deleted that far.
    """
    done = done or {}
    return sum(max(0, high - max(low, done.get(p, low))) for p, (low, high) in marks.items())


def records_lost(marks: dict[int, tuple[int, int]], done: dict[int, int] | None) -> int:
    """Records of one topic that retention deleted before the stream processed them:
    partitions whose checkpoint offset is below the earliest offset still retained."""
    done = done or {}
    return sum(max(0, low - done[p]) for p, (low, _) in marks.items() if p in done)
