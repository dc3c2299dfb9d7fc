"""Each stack service answers a real client."""

from __future__ import annotations

import pytest
import requests

from binance_cdc.settings import Settings
from tests.conftest import wait_for


@pytest.mark.postgres
def test_postgres_answers_a_query_with_logical_wal(settings: Settings) -> None:
    import psycopg

    with wait_for("PostgreSQL", lambda: psycopg.connect(settings.postgres.dsn())) as conn:
        wal_level, schema = conn.execute(
            "SELECT current_setting('wal_level'), "
            "(SELECT nspname FROM pg_namespace WHERE nspname = %s)",
            (settings.postgres.schema_name,)).fetchone()
    assert wal_level == "logical"
    assert schema == settings.postgres.schema_name


@pytest.mark.kafka
def test_kafka_round_trips_a_message_on_a_new_topic(settings: Settings, unique_name: str) -> None:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap = settings.kafka.bootstrap_servers
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = f"test.{unique_name}"
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    try:
        producer = Producer({"bootstrap.servers": bootstrap})
        producer.produce(topic, key=b"k", value="héllo 0.00000001".encode())
        assert producer.flush(30) == 0
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name,
                             "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        try:
            message = None
            for _ in range(60):
                message = consumer.poll(1.0)
                if message is not None and not message.error():
                    break
            assert message is not None and message.error() is None
            assert (message.key(), message.value().decode()) == (b"k", "héllo 0.00000001")
        finally:
            consumer.close()
    finally:
        admin.delete_topics([topic])[topic].result(30)


@pytest.mark.connect
def test_connect_lists_the_debezium_postgres_plugin(settings: Settings) -> None:
    plugins = wait_for("Kafka Connect", lambda: requests.get(
        f"{settings.connect.url}/connector-plugins", timeout=5).json())
    classes = {p["class"]: p for p in plugins}
    assert "io.debezium.connector.postgresql.PostgresConnector" in classes
    assert classes["io.debezium.connector.postgresql.PostgresConnector"]["version"].startswith("3.")


@pytest.mark.cassandra
def test_cassandra_is_5_0_and_creates_and_drops_a_keyspace(settings: Settings,
                                                           unique_name: str) -> None:
    from binance_cdc.sink.connection import cassandra_session

    with cassandra_session(settings.cassandra, timeout_s=10, admin=True) as session:
        version = session.execute("SELECT release_version FROM system.local").one().release_version
        assert version.startswith("5.0.")
        session.execute(f"CREATE KEYSPACE {unique_name} WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        names = {r.keyspace_name for r in session.execute(
            "SELECT keyspace_name FROM system_schema.keyspaces")}
        assert unique_name in names
        session.execute(f"DROP KEYSPACE {unique_name}")
        names = {r.keyspace_name for r in session.execute(
            "SELECT keyspace_name FROM system_schema.keyspaces")}
        assert unique_name not in names
