"""Dead-letter record keys (Debezium JSON) are matched to rows by canonical key."""

from __future__ import annotations

import pytest

from binance_cdc.datasets import KLINES, RECENT_TRADES
from binance_cdc.verify.dead_letters import parse_key
from binance_cdc.verify.spec import TableSpec

TRADES = TableSpec.of_dataset(RECENT_TRADES)


@pytest.mark.parametrize(("record_key", "expected"), [
    pytest.param('{"symbol":"X","trade_id":1}', (b"X", b"1"), id="plain"),
    pytest.param('{"schema":{},"payload":{"symbol":"X","trade_id":1}}', (b"X", b"1"), id="with-schema"),
    pytest.param('{"symbol":"X"}', None, id="another-tables-key"),
    pytest.param("not json", None, id="not-json"),
    pytest.param(None, None, id="no-key"),
    pytest.param("[1, 2]", None, id="not-an-object"),
])
def test_parse_key(record_key: str | None, expected: tuple[bytes, ...] | None) -> None:
    assert parse_key(record_key, TRADES) == expected


def test_timestamps_in_keys_are_compared_at_milliseconds() -> None:
    spec = TableSpec.of_dataset(KLINES)
    key = '{"symbol":"X","interval":"1m","open_time":"2024-05-01T12:00:00.123456Z"}'
    assert parse_key(key, spec) == (b"X", b"1m", b"1714564800123")
