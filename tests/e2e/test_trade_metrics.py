"""Per-minute trade metrics on the real pipeline: exact, late trades, a restart, the klines.

Trades are dated within the last 100 seconds of the wall clock: the stream's
watermark is the newest trade time it has seen (other tests' trades are dated
"now") minus 120 s, and a trade dated behind it is (rightly) not counted.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal

import psycopg
import pytest
from confluent_kafka import Producer

from binance_cdc.binance.simulator.market import ManualClock
from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.verify.trade_metrics import KLINES_CHECK, verify_metrics
from tests.e2e.conftest import StreamJob, plain_env
from tests.helpers.kafka import end_offsets, read_events
from tests.integration.conftest import db, make_extractor, sim, sym  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect,
              pytest.mark.cassandra, pytest.mark.spark]

Trade = tuple[str, int, str, str, dt.datetime, bool]  # symbol, id, price, qty, time, buyer maker


def _minute_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)


def _between_seconds(low: int, high: int) -> None:
    """Wait until the wall clock is ``low``..``high`` seconds into a minute."""
    while not low <= dt.datetime.now(dt.timezone.utc).second <= high:
        time.sleep(0.5)


def _insert(settings: Settings, trades: list[Trade]) -> None:
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        for symbol, trade_id, price, qty, when, maker in trades:
            conn.execute("INSERT INTO binance.recent_trades VALUES (%s, %s, %s, %s, %s, %s, %s, "
                         "true)", (symbol, trade_id, Decimal(price), Decimal(qty),
                                   Decimal(price) * Decimal(qty), when, maker))


def _expected(trades: list[Trade]) -> dict[tuple[str, dt.datetime], dict[str, object]]:
    """The minutes the trades make, computed here from first principles."""
    minutes: dict[tuple[str, dt.datetime], list[Trade]] = {}
    for trade in trades:
        minutes.setdefault((trade[0], trade[4].replace(second=0, microsecond=0)), []).append(trade)
    out = {}
    for key, group in minutes.items():
        group.sort(key=lambda t: t[1])
        prices = [Decimal(t[2]) for t in group]
        volume = sum(Decimal(t[3]) for t in group)
        quote = sum(Decimal(t[2]) * Decimal(t[3]) for t in group)
        taker = sum(Decimal(t[3]) for t in group if not t[5])
        out[key] = {"open": prices[0], "close": prices[-1], "high": max(prices),
                    "low": min(prices), "volume": volume, "quote_volume": quote,
                    "trade_count": len(group), "taker_buy_volume": taker,
                    "buyer_maker_volume": volume - taker,
                    "vwap": (quote / volume).quantize(Decimal("1e-8"), ROUND_HALF_EVEN),
                    "first_trade_id": group[0][1], "last_trade_id": group[-1][1]}
    return out


def _stored(settings: Settings, symbols: list[str]) -> dict[tuple[str, dt.datetime], object]:
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        return {(r.symbol, r.minute.replace(tzinfo=dt.timezone.utc)): r for s in symbols
                for r in session.execute("SELECT * FROM trade_metrics_1m WHERE symbol = %s", (s,))}


def _wait_equal(settings: Settings, job: StreamJob, trades: list[Trade],
                timeout_s: float = 180) -> None:
    expected = _expected(trades)
    symbols = sorted({t[0] for t in trades})
    deadline = time.monotonic() + timeout_s
    while True:
        stored = _stored(settings, symbols)
        found = {k: {c: getattr(stored[k], c) for c in v} for k, v in expected.items()
                 if k in stored}
        if found == expected and set(stored) == set(expected):
            return
        job.assert_running()
        assert time.monotonic() < deadline, (
            f"trade_metrics_1m never equalled the trades:\nexpected {expected}\nfound {found}\n"
            f"rows {sorted(stored)}\n{job.log_tail()}")
        time.sleep(1)


def test_minutes_are_exact_through_late_trades_and_a_kill_of_the_job(
        settings: Settings, stream_job: StreamJob, unique_name: str) -> None:
    # The previous minute and this one: every trade within 100 s of now (or just ahead).
    _between_seconds(0, 40)
    first, second = _minute_now() - dt.timedelta(minutes=1), _minute_now()
    a, b, late_symbol = f"{unique_name}A", f"{unique_name}B", f"{unique_name}L"
    at = lambda minute, s: minute + dt.timedelta(seconds=s)  # noqa: E731 - reads as a table
    trades: list[Trade] = [
        (a, 1, "67000.01", "0.5", at(first, 1), True),
        (a, 2, "67100.00000001", "1.25", at(first, 20), False),
        (a, 4, "66990.5", "0.001", at(first, 59.999), False),
        (a, 5, "67001", "3", at(second, 0), True),
        (b, 1, "0.00000812", "900000000", at(first, 30), False),
        (b, 2, "0.00000813", "1", at(second, 30), False),
    ]
    topic = "binance.binance.recent_trades"
    start = end_offsets(settings.kafka.bootstrap_servers, [topic])
    _insert(settings, trades)
    _wait_equal(settings, stream_job, trades)

    # A change Kafka delivers twice (Debezium re-sends after a Connect crash) counts once:
    # the real envelope again, then a fence trade on the same partition behind it.
    [original] = read_events(settings.kafka.bootstrap_servers, [topic], start=start,
                             match=lambda e: e.key == {"symbol": a, "trade_id": 1},
                             until=lambda evs: len(evs) >= 1)
    fence = json.loads(json.dumps(original.value))
    fence["after"].update(symbol=f"{unique_name}F", trade_id=1)
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for key, value in ((original.key, original.value),
                       ({"symbol": f"{unique_name}F", "trade_id": 1}, fence)):
        producer.produce(topic, key=json.dumps(key).encode(), value=json.dumps(value).encode(),
                         partition=original.partition)
    assert producer.flush(30) == 0
    deadline = time.monotonic() + 120
    while not _stored(settings, [f"{unique_name}F"]):
        assert time.monotonic() < deadline, stream_job.log_tail()
        time.sleep(1)
    _wait_equal(settings, stream_job, trades, timeout_s=5)
    # The fence exists only on Kafka so far; Postgres gets the same row so that every later
    # reconciliation (the drill's verify, the README's) finds the replica equal to its source.
    _insert(settings, [(f"{unique_name}F", *trades[0][1:])])

    # Late, but within the watermark: it updates its minute (and is its middle trade by id).
    late = [(a, 3, "66000", "2", at(first, 30), True)]
    # Far behind the watermark: not counted; its minute never appears.
    too_late = [(late_symbol, 1, "1", "1", _minute_now() - dt.timedelta(minutes=30), False)]
    _insert(settings, late + too_late)
    trades += late
    _wait_equal(settings, stream_job, trades)

    # Killed mid-minute: the state in the checkpoint carries the minute on.
    stream_job.kill()
    more: list[Trade] = [(a, 6, "67002", "1", at(second, 40), False),
                         (b, 3, "0.00000811", "5", at(second, 45), True)]
    _insert(settings, more)
    stream_job.start()
    trades += more
    _wait_equal(settings, stream_job, trades, timeout_s=240)
    assert _stored(settings, [late_symbol]) == {}

    # The README's check agrees, and names the trade that came too late.
    ok = subprocess.run(["binance-cdc", "verify", "metrics", "--symbol", a, "--symbol", b,
                         "--minutes", "5"], cwd=PROJECT_ROOT, env=plain_env(),
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "trade_metrics_1m" in ok.stdout and "ok" in ok.stdout
    # The README's command, as typed: every symbol (other tests' trades too, some deleted
    # since, so it may find differences: exit 1), never "could not verify" (2).
    readme = subprocess.run(["binance-cdc", "verify", "metrics", "--minutes", "10"],
                            cwd=PROJECT_ROOT, env=plain_env(), capture_output=True, text=True,
                            timeout=120)
    assert readme.returncode in (0, 1), readme.stdout + readme.stderr
    assert f"symbol={a}" not in readme.stdout, readme.stdout  # ours are equal
    assert "trade_metrics_1m" in readme.stdout and "klines_1m" in readme.stdout
    status = subprocess.run(["binance-cdc", "status"], cwd=PROJECT_ROOT, env=plain_env(),
                            capture_output=True, text=True, timeout=120)
    assert f"{settings.spark.query_name}.trade_metrics_1m: watermark " in status.stdout, status.stdout
    assert "last closed minute" in status.stdout
    assert "job: running (pid " in status.stdout, status.stdout
    missed = verify_metrics(settings, minutes=60, symbols=[late_symbol])
    assert not missed.matches and missed.table("trade_metrics_1m").missing == 1


@pytest.fixture
def sim_clock() -> ManualClock:
    """The simulator's market opens 10 s before the last whole minute (a trade-built minute
    with trades on both sides of it), 15 to 35 s into the current one (so the whole minute
    is within the stream's watermark)."""
    _between_seconds(15, 35)
    return ManualClock((_minute_now() - dt.timedelta(minutes=1, seconds=10)).timestamp())


def test_minutes_equal_the_simulators_klines(
        settings: Settings, stream_job: StreamJob, sim_clock: ManualClock,
        make_extractor: Callable, sym: Callable[[str], str]) -> None:  # noqa: F811 - fixture
    sim_clock.advance(time.time() - 0.5 - sim_clock())  # every trade up to now, none ahead
    extractor = make_extractor(["ETHUSDT", "BNBUSDT"])
    results = extractor.run_cycle(["recent_trades", "klines"])
    assert [r.status for r in results] == ["ok", "ok"], results
    result = verify_metrics(settings, minutes=3, symbols=[sym("ETHUSDT"), sym("BNBUSDT")],
                            wait_s=180)
    assert result.matches, result.to_dict()
    assert result.table(KLINES_CHECK).postgres_rows >= 1, result.to_dict()
