"""End to end: live trades over the simulator's WebSocket reach Postgres, then Cassandra's
recent_trades replica and its trades_by_day query table, every trade once with exact values."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.verify.run import verify_until
from tests.e2e.conftest import StreamJob
from tests.helpers.live import LiveSim, Writer, live_simulator, wait_all_stored
from tests.integration.conftest import Db

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect,
              pytest.mark.cassandra, pytest.mark.spark]


@pytest.fixture
def live_sim(unique_name: str, pg_conn: Any) -> Iterator[LiveSim]:
    with live_simulator(f"_{unique_name}", pg_conn) as sim:
        yield sim


def test_live_trades_reach_recent_trades_and_trades_by_day(
        settings: Settings, stream_job: StreamJob, live_sim: LiveSim, pg_conn: Any,
        tmp_path: Path) -> None:
    db = Db(pg_conn)
    symbols = [s for s in live_sim.market.symbols if s.startswith(("BTCUSDT_", "币安人生USDT_"))]
    writer = Writer(["trades", "live", "--base-url", live_sim.rest.url, "--ws-url",
                     live_sim.streams.url, "--symbols", ",".join(symbols)],
                    tmp_path / "writer.log")
    try:
        live_sim.wait_connections(1)
        for symbol in symbols:
            live_sim.market.set_trade_rate(symbol, 60)
        time.sleep(3)
        live_sim.trade(0)
        wait_all_stored(db, live_sim, symbols)
        assert writer.stop() == 0, writer.output()
    finally:
        if writer.proc.poll() is None:
            writer.kill()

    # A stream that starts from the beginning of a long topic needs a while to get here.
    result = verify_until(settings, ["recent_trades"], symbols=symbols, wait_s=300)
    assert result.matches, result
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        for symbol in symbols:
            produced = live_sim.log_rows(symbol)
            days = sorted({row[5].date() for row in produced})  # type: ignore[union-attr]
            stored = [r for day in days for r in session.execute(
                "SELECT trade_id, price, qty, quote_qty, trade_time FROM trades_by_day "
                "WHERE symbol = %s AND trade_date = %s", (symbol, day))]
            assert sorted((r.trade_id, str(r.price), str(r.qty), str(r.quote_qty),
                           r.trade_time.replace(tzinfo=dt.timezone.utc)) for r in stored) == \
                [(row[1], str(row[2]), str(row[3]), str(row[4]), row[5]) for row in produced]
