"""A Postgres that was rebuilt or restored is refused, with the recovery, before its lower
LSNs can silently lose to the rows already in Cassandra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from binance_cdc.errors import StreamError
from binance_cdc.settings import Settings
from binance_cdc.stream.source_guard import SOURCE_FILE, SourceGuard

pytestmark = pytest.mark.postgres


def _guard(settings: Settings, path: Path) -> SourceGuard:
    return SourceGuard(path, settings.postgres, settings.cassandra.keyspace)


def test_the_same_source_passes_and_its_position_is_recorded(settings: Settings,
                                                             tmp_path: Path) -> None:
    _guard(settings, tmp_path).check()
    first = json.loads((tmp_path / SOURCE_FILE).read_text())
    assert int(first["system_identifier"]) > 0 and first["max_wal_position"] > 0
    _guard(settings, tmp_path).check()  # a second job start on the same source
    again = json.loads((tmp_path / SOURCE_FILE).read_text())
    assert again["system_identifier"] == first["system_identifier"]
    assert again["max_wal_position"] >= first["max_wal_position"]


def test_a_rebuilt_source_is_refused_with_the_recovery(settings: Settings,
                                                       tmp_path: Path) -> None:
    (tmp_path / SOURCE_FILE).write_text(json.dumps({"system_identifier": "1",
                                                    "max_wal_position": 0}))
    with pytest.raises(StreamError) as refused:
        _guard(settings, tmp_path).check()
    message = str(refused.value)
    assert "rebuilt or replaced" in message and "recorded 1" in message
    assert "POSTGRES_HOST/POSTGRES_PORT" in message and "binance-cdc connector apply" in message
    assert not refused.value.retryable


def test_a_restored_source_whose_wal_went_back_is_refused(settings: Settings,
                                                          tmp_path: Path) -> None:
    _guard(settings, tmp_path).check()
    recorded = json.loads((tmp_path / SOURCE_FILE).read_text())
    recorded["max_wal_position"] = 1 << 60
    (tmp_path / SOURCE_FILE).write_text(json.dumps(recorded))
    with pytest.raises(StreamError, match="restored from a backup"):
        _guard(settings, tmp_path).check()
