"""Postgres -> Debezium -> Kafka -> Spark -> Cassandra, on the real services."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from decimal import Decimal

import psycopg
import pytest
from confluent_kafka import Producer

from binance_cdc.datasets import DATASETS, Dataset
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.query_tables import QUERY_TABLES
from binance_cdc.verify.run import verify_until
from tests.e2e.conftest import StreamJob, wait_dead_letter, write_fence
from tests.helpers.cassandra import delete_replica
from tests.helpers.kafka import end_offsets, read_events
from tests.helpers.rows import first_non_key_column, insert_sql, key_where, sample_row

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.connect,
              pytest.mark.cassandra, pytest.mark.spark]


def _matches(settings: Settings, symbol: str, tables=None, wait_s: float = 90) -> None:
    if tables is not None:
        # Query tables are written by jobs of their own in the same micro-batch, which
        # may finish after the replica's: wait for them too.
        tables = [*tables, *(q.name for q in QUERY_TABLES if q.source in tables)]
    result = verify_until(settings, tables, symbols=[symbol], wait_s=wait_s)
    assert result.matches, result.to_dict() if hasattr(result, "to_dict") else result


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.name)
def test_insert_update_delete_of_every_table_reach_the_replica_exactly(
        settings: Settings, stream_job: StreamJob, dataset: Dataset, unique_name: str) -> None:
    schema = settings.postgres.schema_name
    # Tables keyed by symbol alone need a symbol per row.
    one_per_symbol = dataset.primary_key == ("symbol",)
    symbols = [f"{unique_name}{n}" if one_per_symbol else unique_name for n in (1, 2, 3)]
    rows = [sample_row(dataset, symbol, n) for symbol, n in zip(symbols, (1, 2, 3))]
    changed = first_non_key_column(dataset)

    def key_of(row: dict) -> list:
        return [row[k] for k in dataset.primary_key]

    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        for row in rows:
            conn.execute(insert_sql(dataset, schema), list(row.values()))
        conn.execute(f'UPDATE {schema}.{dataset.name} SET "{changed}" = %s '
                     f"WHERE {key_where(dataset)}", [Decimal("0.00000001"), *key_of(rows[1])])
        conn.execute(f"DELETE FROM {schema}.{dataset.name} WHERE {key_where(dataset)}",
                     key_of(rows[2]))
    result = verify_until(settings, [dataset.name], symbols=sorted(set(symbols)), wait_s=90)
    assert result.matches, result

    where = " AND ".join(f"{k} = %s" for k in dataset.primary_key)
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        found = [session.execute(f"SELECT * FROM {dataset.name} WHERE {where}",
                                 key_of(row)).one() for row in rows]
    kept, updated, deleted = found
    assert deleted is None
    assert getattr(updated, changed) == Decimal("0.00000001")
    assert getattr(kept, changed) == rows[0][changed]
    for row in (kept, updated):
        assert row.source_lsn > 0 and row.source_ts is not None and row.written_at >= row.source_ts


def test_query_tables_answer_their_questions(settings: Settings, stream_job: StreamJob,
                                             unique_name: str) -> None:
    day = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        for i in range(5):
            conn.execute("INSERT INTO binance.recent_trades VALUES (%s, %s, %s, 1, 1, %s, true, true)",
                         (unique_name, i, Decimal("100.5") + i, day + dt.timedelta(hours=i)))
        conn.execute("INSERT INTO binance.recent_trades VALUES (%s, 99, 1, 1, 1, %s, true, true)",
                     (unique_name, day + dt.timedelta(days=1)))
        for minute in range(12):
            row = sample_row(DATASETS["klines"], unique_name, minute)
            conn.execute(insert_sql(DATASETS["klines"], "binance"), list(row.values()))
        for side, price in (("bid", "99.5"), ("bid", "99.9"), ("ask", "100.1"), ("ask", "100.7")):
            conn.execute("INSERT INTO binance.order_book VALUES (%s, %s, %s, 1, 1, now())",
                         (unique_name, side, Decimal(price)))
        conn.execute("DELETE FROM binance.recent_trades WHERE symbol = %s AND trade_id = 4",
                     (unique_name,))
    _matches(settings, unique_name, ["recent_trades", "klines", "order_book"])

    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        trades = list(session.execute(
            "SELECT trade_id FROM trades_by_day WHERE symbol = %s AND trade_date = %s",
            (unique_name, day.date())))
        in_range = list(session.execute(
            "SELECT trade_id FROM trades_by_day WHERE symbol = %s AND trade_date = %s "
            "AND trade_time >= %s AND trade_time < %s",
            (unique_name, day.date(), day + dt.timedelta(hours=1), day + dt.timedelta(hours=3))))
        klines = list(session.execute(
            "SELECT open_time FROM klines WHERE symbol = %s AND interval = '1m' LIMIT 3",
            (unique_name,)))
        bids = list(session.execute(
            "SELECT price FROM order_book WHERE symbol = %s AND side = 'bid' ORDER BY price DESC",
            (unique_name,)))
        asks = list(session.execute(
            "SELECT price FROM order_book WHERE symbol = %s AND side = 'ask'", (unique_name,)))
    assert [t.trade_id for t in trades] == [3, 2, 1, 0]  # newest first; 4 deleted, 99 next day
    assert [t.trade_id for t in in_range] == [2, 1]
    assert len(klines) == 3 and klines[0].open_time > klines[1].open_time > klines[2].open_time
    assert [b.price for b in bids] == [Decimal("99.9"), Decimal("99.5")]
    assert [a.price for a in asks] == [Decimal("100.1"), Decimal("100.7")]


def test_a_duplicate_and_an_older_version_delivered_late_leave_the_newer_state(
        settings: Settings, stream_job: StreamJob, unique_name: str) -> None:
    topic = "binance.binance.latest_prices"
    start = end_offsets(settings.kafka.bootstrap_servers, [topic])
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO binance.latest_prices VALUES (%s, 1.1, now())", (unique_name,))
        conn.execute("UPDATE binance.latest_prices SET price = 2.2 WHERE symbol = %s",
                     (unique_name,))
    create, update = read_events(
        settings.kafka.bootstrap_servers, [topic], start=start,
        match=lambda e: e.key is not None and e.key["symbol"] == unique_name,
        until=lambda evs: len(evs) >= 2)
    _matches(settings, unique_name, ["latest_prices"])

    # Replay the real envelopes: the newer one again, then the older one late.
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for event in (update, create):
        producer.produce(topic, key=json.dumps(event.key).encode(),
                         value=json.dumps(event.value).encode())
    assert producer.flush(30) == 0
    fence = f"{unique_name}F"
    write_fence(settings, fence)
    stream_job.wait_replicated(fence)

    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        row = session.execute("SELECT price, source_lsn FROM latest_prices WHERE symbol = %s",
                              (unique_name,)).one()
    assert row.price == Decimal("2.2")
    assert row.source_lsn == update.value["source"]["lsn"]


def test_a_non_json_record_goes_to_dead_letters_and_the_stream_goes_on(
        settings: Settings, stream_job: StreamJob, unique_name: str) -> None:
    topic = "binance.binance.latest_prices"
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    delivered = []
    producer.produce(topic, key=unique_name.encode(), value=b"this is not json {",
                     on_delivery=lambda err, msg: delivered.append(
                         (err, msg.partition(), msg.offset(), msg.timestamp()[1])))
    assert producer.flush(30) == 0
    (error, partition, offset, stamp_ms), = delivered
    assert error is None
    write_fence(settings, unique_name)
    stream_job.wait_replicated(unique_name)

    letter = wait_dead_letter(settings, topic, partition, offset, stamp_ms)
    assert letter is not None
    assert letter.record_key == unique_name
    assert letter.record_value == "this is not json {"
    assert "not JSON" in letter.error
    stream_job.assert_running()


def test_a_column_added_in_postgres_does_not_stop_the_stream(
        settings: Settings, stream_job: StreamJob, unique_name: str) -> None:
    column = f"extra_{unique_name}"
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(f"ALTER TABLE binance.latest_prices ADD COLUMN {column} text DEFAULT 'x'")
        try:
            conn.execute("INSERT INTO binance.latest_prices (symbol, price, updated_at) "
                         "VALUES (%s, 3.3, now())", (unique_name,))
            row = stream_job.wait_replicated(unique_name)
            assert row.price == Decimal("3.3")
        finally:
            conn.execute(f"ALTER TABLE binance.latest_prices DROP COLUMN {column}")
    fence = f"{unique_name}F"
    write_fence(settings, fence)
    stream_job.wait_replicated(fence)
    stream_job.assert_running()


def test_killing_the_job_mid_stream_and_restarting_converges_to_postgres(
        settings: Settings, stream_job: StreamJob, unique_name: str) -> None:
    def write_changes() -> None:
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
            for i in range(400):
                conn.execute("INSERT INTO binance.recent_trades VALUES (%s, %s, 1, 1, 1, now(), "
                             "true, true)", (unique_name, i))
                conn.execute("INSERT INTO binance.latest_prices VALUES (%s, %s, now()) ON CONFLICT "
                             "(symbol) DO UPDATE SET price = EXCLUDED.price",
                             (unique_name, Decimal(i) / 100))
                if i % 10 == 9:
                    conn.execute("DELETE FROM binance.recent_trades WHERE symbol = %s AND "
                                 "trade_id = %s", (unique_name, i - 5))
                time.sleep(0.01)

    writer = threading.Thread(target=write_changes)
    writer.start()
    stream_job.wait_replicated(unique_name, timeout_s=60)
    stream_job.kill()
    writer.join(120)
    stream_job.start()
    _matches(settings, unique_name, ["recent_trades", "latest_prices"], wait_s=180)


def test_extreme_values_round_trip_exactly(settings: Settings, stream_job: StreamJob,
                                           unique_name: str) -> None:
    """38-digit decimals, 1e-30, negatives, times before 1970 and in 2099, odd text."""
    symbol = f'{unique_name}币安"\'\\;--Ä'
    cases = [  # trade_id, price, qty, quote_qty, trade_time
        (1, Decimal("12345678901234567890123456789012345678"), Decimal("1E-30"),
         Decimal("-0.00000001"), dt.datetime(1969, 7, 20, 20, 17, 40, 123000, tzinfo=dt.timezone.utc)),
        (2, Decimal("-12345678901234567890.123456789012345678"), Decimal("0.000000000000000000000000000001"),
         Decimal("99999999999999999999999999999999.5"), dt.datetime(2099, 12, 31, 23, 59, 59, 999000,
                                                                    tzinfo=dt.timezone.utc)),
        (3, Decimal("1.50"), Decimal("-1"), Decimal("0"), dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)),
    ]
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        for trade_id, price, qty, quote, when in cases:
            conn.execute("INSERT INTO binance.recent_trades VALUES (%s, %s, %s, %s, %s, %s, true, false)",
                         (symbol, trade_id, price, qty, quote, when))
    _matches(settings, symbol, ["recent_trades"], wait_s=300)
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        for trade_id, price, qty, quote, when in cases:
            row = session.execute("SELECT * FROM recent_trades WHERE symbol = %s AND trade_id = %s",
                                  (symbol, trade_id)).one()
            assert (row.price, row.qty, row.quote_qty) == (price, qty, quote)
            assert str(row.price) == str(price)  # not even the scale changed
            assert row.trade_time.replace(tzinfo=dt.timezone.utc) == when
            by_day = session.execute(
                "SELECT price FROM trades_by_day WHERE symbol = %s AND trade_date = %s",
                (symbol, when.date())).one()
            assert by_day.price == price


POISON = {
    "a decimal Cassandra cannot hold": ("latest_prices", {"price": "1E+9999999999"}, {},
                                        "not a finite decimal"),
    "an integer beyond int64": ("recent_trades", {"trade_id": 99999999999999999999}, {},
                                "after.trade_id is '99999999999999999999', not a bigint"),
    "a commit time beyond the timestamp range": ("latest_prices", {}, {"ts_ms": 9 * 10**18},
                                                 "outside the years 1-9999"),
    "an LSN far beyond the source's WAL": ("latest_prices", {}, {"lsn": 2**62},
                                           "ahead of the source's current WAL position"),
}


def _poison_envelope(table: str, after: dict, source: dict, unique_name: str) -> bytes:
    rows = {"latest_prices": {"symbol": unique_name, "price": "1", "updated_at": "2024-01-01T00:00:00Z"},
            "recent_trades": {"symbol": unique_name, "trade_id": 1, "price": "1", "qty": "1",
                              "quote_qty": "1", "trade_time": "2024-01-01T00:00:00Z",
                              "is_buyer_maker": True, "is_best_match": True}}
    return json.dumps({"op": "c", "before": None, "after": {**rows[table], **after},
                       "source": {"lsn": 1000, "ts_ms": 1_700_000_000_000, "table": table,
                                  **source}}).encode()


def test_poison_records_become_dead_letters_and_the_stream_goes_on(
        settings: Settings, stream_job: StreamJob, unique_name: str) -> None:
    records = [(f"binance.binance.{table}", _poison_envelope(table, after, source, unique_name),
                message) for table, after, source, message in POISON.values()]
    records.append(("binance.binance.latest_prices",
                    b'{"op": "c", "after": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                    "not JSON"))  # deeply nested
    big = b'{"op": "c", "junk": "' + b"x" * 900_000 + b'"}'
    records.append(("binance.binance.latest_prices", big, "no source block"))  # about 1 MB
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers,
                         "message.max.bytes": 1_000_000})
    delivered: dict[int, tuple] = {}
    for index, (topic, value, _) in enumerate(records):
        producer.produce(topic, key=json.dumps({"symbol": unique_name}).encode(), value=value,
                         on_delivery=lambda err, msg, index=index: delivered.__setitem__(
                             index, (err, msg.partition(), msg.offset(), msg.timestamp()[1])))
    assert producer.flush(30) == 0
    assert len(delivered) == len(records)
    assert all(err is None for err, *_ in delivered.values()), delivered

    # A good change committed after all of them still arrives.
    fence = f"{unique_name}F"
    write_fence(settings, fence)
    stream_job.wait_replicated(fence, timeout_s=180)
    stream_job.assert_running()

    for index, (topic, value, message) in enumerate(records):
        _, partition, offset, stamp_ms = delivered[index]
        letter = wait_dead_letter(settings, topic, partition, offset, stamp_ms)
        assert letter is not None, f"no dead letter for {message}"
        assert message in letter.error
        assert letter.value_bytes == len(value)
        assert len(letter.record_value) == min(len(value), settings.spark.dead_letter_max_bytes)
    with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as session:
        assert session.execute("SELECT symbol FROM latest_prices WHERE symbol = %s",
                               (unique_name,)).one() is None


def test_change_topics_have_the_configured_partitions(settings: Settings,
                                                      stream_job: StreamJob) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    topics = {name: len(meta.partitions) for name, meta in admin.list_topics(timeout=10).topics.items()
              if name.startswith("binance.binance.") and not name.endswith(("heartbeat", "signal"))}
    assert topics, "no change topics"
    assert set(topics.values()) == {settings.connect.topic_partitions}, topics


def test_dead_letters_replay_applies_a_corrected_record_and_purge_clears(
        settings: Settings, stream_job: StreamJob, unique_name: str, tmp_path) -> None:
    import subprocess

    from tests.e2e.conftest import plain_env

    topic = "binance.binance.latest_prices"
    bad = _poison_envelope("latest_prices", {"price": "abc"}, {}, unique_name)
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    delivered: list = []
    producer.produce(topic, key=json.dumps({"symbol": unique_name}).encode(), value=bad,
                     on_delivery=lambda err, msg: delivered.append(
                         (msg.partition(), msg.offset(), msg.timestamp()[1])))
    assert producer.flush(30) == 0
    (partition, offset, stamp_ms), = delivered
    assert wait_dead_letter(settings, topic, partition, offset, stamp_ms, timeout_s=180) is not None

    def cli(*args: str) -> str:
        return subprocess.run(["binance-cdc", "dead-letters", *args], env=plain_env(),
                              capture_output=True, text=True, timeout=120, check=True).stdout

    listed = [json.loads(line) for line in cli("list", "--topic", topic, "--json",
                                               "--limit", "1000").splitlines()]
    assert any(x["offset"] == offset and x["partition"] == partition and "'abc'" in x["error"]
               for x in listed)
    fixed = tmp_path / "fixed.json"
    fixed.write_text(bad.decode().replace('"abc"', '"2.5"'))
    out = cli("replay", "--topic", topic, "--partition", str(partition), "--offset", str(offset),
              "--value-file", str(fixed))
    try:
        assert f"replayed {topic}[{partition}]@{offset}" in out
        row = stream_job.wait_replicated(unique_name)
        assert row.price == Decimal("2.5")
        remaining = cli("list", "--topic", topic, "--partition", str(partition),
                        "--offset", str(offset))
        assert remaining.strip().endswith("0 dead letter(s)")
    finally:
        # No Postgres row backs the replayed record: remove it, or every later
        # whole-table verify (the drill's) finds it extra.
        with cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace) as cass:
            delete_replica(cass, DATASETS["latest_prices"], settings.cassandra.keyspace,
                           [{"symbol": unique_name}])
