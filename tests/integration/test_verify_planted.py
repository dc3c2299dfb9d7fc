"""`verify` on 100,000-row tables with planted differences, and on rows Cassandra cannot hold.

A sandbox (a Postgres schema and a Cassandra keyspace of the test's own, see
binance_cdc/bench/sandbox.py) is loaded directly with 100,000 identical trades
and their trades_by_day rows; each test changes one side in known places and
checks that verify reports exactly those places, with the columns that differ.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from binance_cdc.bench.sandbox import Sandbox, derived_rows, trade_rows
from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.settings import PROJECT_ROOT, Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.query_tables import TRADES_BY_DAY
from binance_cdc.verify import verify
from binance_cdc.verify.canonical import canonical_decimal
from binance_cdc.verify.drill import UNREPRESENTABLE
from binance_cdc.verify.postgres import estimate_rows
from binance_cdc.verify.spec import bucket_count
from tests.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.cassandra]

ROWS = 100_000
SYMBOLS = ("VPA", "VPB", "VPC", "VPD")
PER_SYMBOL = ROWS // len(SYMBOLS)
COLUMNS = RECENT_TRADES.column_names
TABLES = ["recent_trades", "trades_by_day"]


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[Sandbox]:
    def reachable() -> None:
        with cassandra_session(settings.cassandra):
            pass
    wait_for("Cassandra", reachable, timeout_s=60)
    box = Sandbox.create(settings, prefix="t_verify")
    try:
        box.copy_into_postgres(RECENT_TRADES.name, COLUMNS, trade_rows(ROWS, symbols=SYMBOLS))
        with psycopg.connect(box.settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute(f'ANALYZE "{box.name}".recent_trades')
        with cassandra_session(box.settings.cassandra, keyspace=box.name) as session:
            box.insert_into_cassandra(session, RECENT_TRADES.name, COLUMNS,
                                      trade_rows(ROWS, symbols=SYMBOLS))
            box.insert_into_cassandra(session, TRADES_BY_DAY.name, TRADES_BY_DAY.columns,
                                      derived_rows(TRADES_BY_DAY, trade_rows(ROWS, symbols=SYMBOLS),
                                                   COLUMNS))
        yield box
    finally:
        box.drop()


@pytest.fixture
def session(sandbox: Sandbox) -> Iterator[object]:
    with cassandra_session(sandbox.settings.cassandra, keyspace=sandbox.name) as s:
        yield s


def rows_at(*indices: int) -> list[tuple[object, ...]]:
    """The trades at those places in primary-key order (symbol, trade_id)."""
    def generated_at(index: int) -> int:
        return (index % PER_SYMBOL) * len(SYMBOLS) + index // PER_SYMBOL
    wanted = {generated_at(i) for i in indices}
    rows = {i: row for i, row in enumerate(trade_rows(ROWS, symbols=SYMBOLS)) if i in wanted}
    return [rows[generated_at(i)] for i in indices]


def planted_places(sandbox: Sandbox) -> list[list[tuple[object, ...]]]:
    """Per kind of difference, the trades to plant it in: the first, the middle and the last
    primary key (seven kinds, each one place further in), then two pairs of trades of one
    symbol that verify puts in the same bucket."""
    buckets = bucket_count(estimate_rows(sandbox.settings.postgres, RECENT_TRADES.name))
    places = [[o, ROWS // 2 + o, ROWS - 1 - o] for o in range(7)]
    places += [[30_000, 30_000 + buckets], [60_000, 60_000 + buckets]]
    rows = iter(rows_at(*(i for group in places for i in group)))
    return [[next(rows) for _ in group] for group in places]


def key(row: tuple[object, ...]) -> dict[str, str]:
    return {"symbol": str(row[0]), "trade_id": str(row[1])}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def by_day_key(row: tuple[object, ...]) -> dict[str, object]:
    return TRADES_BY_DAY.derive(dict(zip(COLUMNS, row)))


def test_planted_differences_are_all_found_and_only_they(sandbox: Sandbox, session: object) -> None:
    schema, cql = sandbox.name, session.execute  # type: ignore[attr-defined]
    (missing, extra, decimal, micro, moved, sub_ms, rescaled,
     extra_pair, moved_pair) = planted_places(sandbox)
    # Two unexpected rows in one bucket cannot be found by key and token: a rescan finds them.
    extra, moved = extra + extra_pair, moved + moved_pair
    with psycopg.connect(sandbox.settings.postgres.dsn(), autocommit=True) as conn:
        def update(column: str, value: object, row: tuple[object, ...]) -> None:
            conn.execute(f'UPDATE "{schema}".recent_trades SET {column} = %s '
                         "WHERE symbol = %s AND trade_id = %s", (value, row[0], row[1]))

        for row in extra:
            conn.execute(f'DELETE FROM "{schema}".recent_trades '
                         "WHERE symbol = %s AND trade_id = %s", row[:2])
        for row in decimal:  # the 18th significant digit
            update("price", row[2] + Decimal(1).scaleb(row[2].adjusted() - 17), row)  # type: ignore[union-attr]
        for row in micro:  # 1 µs earlier: the previous millisecond
            update("trade_time", row[5] - dt.timedelta(microseconds=1), row)  # type: ignore[operator]
        for row in moved:
            update("trade_time", row[5] + dt.timedelta(days=1), row)  # type: ignore[operator]
        for row in sub_ms:  # 999 µs later: the same millisecond, so no difference
            update("trade_time", row[5] + dt.timedelta(microseconds=999), row)  # type: ignore[operator]
        for row in rescaled:  # more trailing zeros: the same value
            update("price", row[2].quantize(Decimal("1E-15")), row)  # type: ignore[union-attr]
    for row in missing:  # lost: neither the replica nor the query table has it
        cql("DELETE FROM recent_trades WHERE symbol = %s AND trade_id = %s", row[:2])
        day = by_day_key(row)
        cql("DELETE FROM trades_by_day WHERE symbol = %s AND trade_date = %s AND trade_time = %s "
            "AND trade_id = %s", [day[k] for k in TRADES_BY_DAY.key])
    # A day move the replica got but trades_by_day only half: the new row, and the old one stays.
    moved_later = [(*row[:5], row[5] + dt.timedelta(days=1), *row[6:]) for row in moved]  # type: ignore[operator]
    sandbox.insert_into_cassandra(session, RECENT_TRADES.name, COLUMNS, moved_later)
    sandbox.insert_into_cassandra(session, TRADES_BY_DAY.name, TRADES_BY_DAY.columns,
                                  derived_rows(TRADES_BY_DAY, moved_later, COLUMNS))

    result = verify(sandbox.settings, TABLES)

    trades, by_day = result.table("recent_trades"), result.table("trades_by_day")
    assert (trades.postgres_rows, trades.cassandra_rows) == (ROWS - 5, ROWS - 3)
    assert (trades.missing, trades.extra, trades.different, trades.held) == (3, 5, 6, 0)
    assert (by_day.missing, by_day.extra, by_day.different) == (0, 5, 0)
    assert sorted(map(str, trades.sample_missing)) == sorted(str(key(r)) for r in missing)
    assert sorted(map(str, trades.sample_extra)) == sorted(str(key(r)) for r in extra)
    changed = {str(s.key): s.columns for s in trades.samples if s.kind == "different"}
    for row in decimal:
        new = row[2] + Decimal(1).scaleb(row[2].adjusted() - 17)  # type: ignore[union-attr]
        assert changed[str(key(row))] == {"price": (canonical_decimal(new),
                                                    canonical_decimal(row[2]))}  # type: ignore[arg-type]
    for row in micro:
        assert changed[str(key(row))] == {
            "trade_time": (iso(row[5] - dt.timedelta(milliseconds=1)), iso(row[5]))}  # type: ignore[operator]
    assert len(changed) == 6
    stale = [{"symbol": str(d["symbol"]), "trade_date": d["trade_date"].isoformat(),
              "trade_time": iso(d["trade_time"]), "trade_id": str(d["trade_id"])}
             for d in map(by_day_key, moved)]
    assert sorted(map(str, by_day.sample_extra)) == sorted(map(str, stale))
    assert trades.differing_buckets <= 13 < trades.buckets


@pytest.fixture
def poisoned(sandbox: Sandbox, session: object, settings: Settings) -> Iterator[dict[str, object]]:
    """Rows of symbol DL: one replicated, two held in dead letters, one NaN with no dead letter."""
    symbol = "DLPOISON"
    base = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    good = (symbol, 1, Decimal("1.50"), Decimal("2"), Decimal("3.00"), base, True, True)
    topic = f"{settings.kafka.topic_prefix}.{sandbox.name}.recent_trades"
    schema = sandbox.name
    with psycopg.connect(sandbox.settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(f'INSERT INTO "{schema}".recent_trades VALUES '
                     "(%s, 1, 1.50, 2, 3.00, %s, true, true), "
                     "(%s, 2, 1, 1, 1, 'infinity', true, true), "
                     "(%s, 3, 'NaN', 1, 1, %s, false, true), "
                     "(%s, 4, 'NaN', 1, 1, %s, false, true)",
                     (symbol, base, symbol, symbol, base, symbol, base))
    sandbox.insert_into_cassandra(session, RECENT_TRADES.name, COLUMNS, [good])
    sandbox.insert_into_cassandra(session, TRADES_BY_DAY.name, TRADES_BY_DAY.columns,
                                  derived_rows(TRADES_BY_DAY, [good], COLUMNS))
    errors = {2: "timestamp 'infinity' does not fit a Cassandra timestamp",
              3: "price 'NaN': Cassandra decimals must be finite"}
    for trade_id, error in errors.items():
        record_key = json.dumps({"symbol": symbol, "trade_id": trade_id})
        session.execute(  # type: ignore[attr-defined]
            "INSERT INTO dead_letters (topic, day, partition, offset, record_key, record_value, "
            "value_bytes, error, recorded_at) VALUES (%s, %s, 0, %s, %s, %s, 42, %s, %s)",
            (topic, base.date(), 100 + trade_id, record_key, f'{{"after": {{"trade_id": {trade_id}}}}}',
             error, base))
    try:
        yield {"symbol": symbol, "errors": errors}
    finally:
        with psycopg.connect(sandbox.settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute(f'DELETE FROM "{schema}".recent_trades WHERE symbol = %s', (symbol,))
        day = by_day_key(good)
        session.execute("DELETE FROM recent_trades WHERE symbol = %s AND trade_id = 1", (symbol,))  # type: ignore[attr-defined]
        session.execute("DELETE FROM trades_by_day WHERE symbol = %s AND trade_date = %s "  # type: ignore[attr-defined]
                        "AND trade_time = %s AND trade_id = %s",
                        [day[k] for k in TRADES_BY_DAY.key])
        session.execute("DELETE FROM dead_letters WHERE topic = %s AND day = %s",  # type: ignore[attr-defined]
                        (topic, base.date()))


def test_infinity_and_nan_are_reported_as_held_in_dead_letters(
        sandbox: Sandbox, poisoned: dict[str, object]) -> None:
    symbol, errors = poisoned["symbol"], poisoned["errors"]

    result = verify(sandbox.settings, TABLES, symbols=[symbol])  # type: ignore[list-item]

    trades = result.table("recent_trades")
    assert (trades.held, trades.missing, trades.extra, trades.different) == (2, 1, 0, 0)
    held = {s.key["trade_id"]: s for s in trades.samples if s.kind == "held"}
    assert set(held) == {"2", "3"}
    assert held["2"].columns["trade_time"] == ("infinity", None)
    assert held["3"].columns["price"] == ("NaN", None)
    for trade_id, error in errors.items():  # type: ignore[attr-defined]
        assert "held in dead letters" in held[str(trade_id)].note and error in held[str(trade_id)].note
    (lost,) = [s for s in trades.samples if s.kind == "missing"]
    assert lost.key == {"symbol": symbol, "trade_id": "4"} and lost.note == UNREPRESENTABLE
    assert result.table("trades_by_day").matches


def test_cli_exits_0_when_every_difference_is_held_in_dead_letters(
        sandbox: Sandbox, poisoned: dict[str, object]) -> None:
    symbol = str(poisoned["symbol"])
    with psycopg.connect(sandbox.settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(f'DELETE FROM "{sandbox.name}".recent_trades '
                     "WHERE symbol = %s AND trade_id = 4", (symbol,))
    env = {"PATH": "/usr/bin:/bin", "POSTGRES_SCHEMA": sandbox.name,
           "CASSANDRA_KEYSPACE": sandbox.name, "HOME": "/root"}
    done = subprocess.run([sys.executable, "-m", "binance_cdc", "verify", "recent_trades",
                           "--symbol", symbol, "--json"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (table,) = json.loads(done.stdout)["tables"]
    assert (table["held"], table["matches"]) == (2, True)
