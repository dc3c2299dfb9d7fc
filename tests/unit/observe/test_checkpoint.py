"""Reading a Structured Streaming checkpoint's offset log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from binance_cdc.observe.checkpoint import (
    parse_offsets_log,
    processed_offsets,
    processed_offsets_of_queries,
    records_behind,
)

METADATA = json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": 1, "conf": {}})


def offsets_file(*sources: object) -> str:
    lines = ["v1", METADATA, *(s if isinstance(s, str) else json.dumps(s) for s in sources)]
    return "\n".join(lines)


def write_batch(root: Path, batch: int, offsets: dict, *, committed: bool) -> None:
    (root / "offsets").mkdir(parents=True, exist_ok=True)
    (root / "offsets" / str(batch)).write_text(offsets_file(offsets))
    (root / "offsets" / f".{batch}.crc").write_bytes(b"\0")
    if committed:
        (root / "commits").mkdir(exist_ok=True)
        (root / "commits" / str(batch)).write_text('v1\n{"nextBatchWatermarkMs":0}')


def test_one_kafka_source() -> None:
    text = offsets_file({"binance.binance.klines": {"0": 983, "1": 7}})
    assert parse_offsets_log(text) == {"binance.binance.klines": {0: 983, 1: 7}}


def test_several_sources_and_a_source_without_offsets_merge() -> None:
    text = offsets_file({"a": {"0": 1}}, "-", {"b": {"0": 2}})
    assert parse_offsets_log(text) == {"a": {0: 1}, "b": {0: 2}}


def test_newest_committed_batch_wins_over_a_batch_in_flight(tmp_path: Path) -> None:
    write_batch(tmp_path, 2, {"t": {"0": 10}}, committed=True)
    write_batch(tmp_path, 10, {"t": {"0": 50}}, committed=True)
    write_batch(tmp_path, 11, {"t": {"0": 70}}, committed=False)
    result = processed_offsets(tmp_path)
    assert result is not None
    assert (result.batch_id, result.committed, result.newest_batch_id) == (10, True, 11)
    assert result.offsets == {"t": {0: 50}}


def test_only_an_uncommitted_batch(tmp_path: Path) -> None:
    write_batch(tmp_path, 0, {"t": {"0": 5}}, committed=False)
    result = processed_offsets(tmp_path)
    assert result is not None and (result.batch_id, result.committed) == (0, False)


def test_no_checkpoint_yet(tmp_path: Path) -> None:
    assert processed_offsets(tmp_path / "missing") is None


def test_the_queries_of_each_table_merge_into_one_view(tmp_path: Path) -> None:
    write_batch(tmp_path / "klines", 3, {"binance.binance.klines": {"0": 7, "1": 9}}, committed=True)
    write_batch(tmp_path / "latest_prices", 8, {"binance.binance.latest_prices": {"2": 4}},
                committed=False)
    result = processed_offsets_of_queries(tmp_path)
    assert result is not None
    assert result.offsets == {"binance.binance.klines": {0: 7, 1: 9},
                              "binance.binance.latest_prices": {2: 4}}
    assert (result.batch_id, result.committed) == (8, False)
    assert processed_offsets_of_queries(tmp_path / "missing") is None


@pytest.mark.parametrize(("marks", "done", "behind"), [
    ({0: (0, 10)}, None, 10),                       # never read: everything retained is pending
    ({0: (4, 10)}, None, 6),                        # ... from the earliest retained record
    ({0: (0, 10), 1: (0, 5)}, {0: 10, 1: 2}, 3),   # per partition, from its checkpoint offset
    ({0: (0, 10), 1: (0, 5)}, {0: 7}, 8),           # a partition the checkpoint does not know
    ({0: (8, 10)}, {0: 5}, 2),                      # retention deleted past the checkpoint
    ({0: (0, 10)}, {0: 12}, 0),                     # never negative
], ids=["never-read", "retention-start", "per-partition", "new-partition", "deleted", "ahead"])
def test_records_behind(marks, done, behind) -> None:
    assert records_behind(marks, done) == behind

