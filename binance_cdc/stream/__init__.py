"""The streaming job: Debezium change envelopes from Kafka into Cassandra."""
