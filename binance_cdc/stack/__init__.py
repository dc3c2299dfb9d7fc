"""The local stack: real PostgreSQL, Kafka (KRaft), Kafka Connect + Debezium and
Cassandra processes started from Debian's postgres and Maven Central jars."""
