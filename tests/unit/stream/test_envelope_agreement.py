"""One envelope, one meaning: the Python decoder (consume, benchmarks, drill) and the
stream's Spark decoding, both built on binance_cdc/kafka/envelope.py, decide the same."""

from __future__ import annotations

import json
from typing import Any

import pytest

from binance_cdc.kafka.envelope import FILL_ONLY_TIMESTAMP
from binance_cdc.kafka.events import decode_record
from binance_cdc.stream import decode as d
from binance_cdc.stream.trade_minutes import trade_changes
from tests.unit.stream.test_decode import PRICE, TRADE, decoded_frame, envelope

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket"
                               ":pytest.PytestUnraisableExceptionWarning"),
]


def _wrapped(value: str) -> str:
    return json.dumps({"schema": {"type": "struct"}, "payload": json.loads(value)})


KEY = json.dumps({"symbol": "BTCUSDT"})
CASES: dict[str, tuple[str | None, str | None]] = {  # name: (key, value)
    "create": (KEY, envelope("c", None, PRICE, lsn=11)),
    "snapshot read": (KEY, envelope("r", None, PRICE, lsn=12)),
    "update": (KEY, envelope("u", PRICE, PRICE, lsn=13)),
    "delete": (KEY, envelope("d", PRICE, None, lsn=14)),
    "incremental read": (KEY, envelope("r", None, PRICE, lsn=None, snapshot="incremental")),
    "tombstone": (KEY, None),
    "heartbeat": (json.dumps({"serverName": "binance"}), json.dumps({"ts_ms": 1})),
    "message": (None, envelope("m", None, None, lsn=15)),
    "wrapped create": (json.dumps({"schema": {}, "payload": {"symbol": "BTCUSDT"}}),
                       _wrapped(envelope("c", None, PRICE, lsn=16))),
    "wrapped delete": (KEY, _wrapped(envelope("d", PRICE, None, lsn=17))),
}


def _python(key: str | None, value: str | None) -> dict[str, Any]:
    event = decode_record("t", 0, 0, None, key and key.encode(), value and value.encode())
    symbol = None
    if event.action in ("upsert", "delete"):
        image = event.value["after"] if event.action == "upsert" else event.value["before"]
        symbol = (event.key or {}).get("symbol") or image["symbol"]
    return {"action": event.action, "lsn": event.write_timestamp
            if event.action in ("upsert", "delete") else None, "symbol": symbol}


def test_the_python_and_spark_decoders_decide_alike(spark) -> None:
    keys, values = zip(*CASES.values(), strict=True)
    rows = decoded_frame(spark, list(values), keys=list(keys)).collect()
    for name, row in zip(CASES, rows, strict=True):
        applied = row[d.ACTION] in ("upsert", "delete")
        spark_view = {"action": row[d.ACTION], "lsn": row[d.LSN] if applied else None,
                      "symbol": row["symbol"] if applied else None}
        assert spark_view == _python(*CASES[name]), name
    assert _python(*CASES["incremental read"])["lsn"] == FILL_ONLY_TIMESTAMP


def test_the_metrics_decoding_takes_the_same_inserts(spark) -> None:
    values = [envelope(op, None, TRADE, table="recent_trades") for op in ("c", "r", "u")]
    values += [_wrapped(envelope("c", None, TRADE, table="recent_trades")),
               envelope("d", TRADE, None, table="recent_trades"), None,
               envelope("m", None, None, table="recent_trades")]
    frame = spark.createDataFrame([(v,) for v in values], "value string")
    taken = trade_changes(frame).count()
    assert taken == sum(_python(None, v)["action"] == "upsert" for v in values) == 4
