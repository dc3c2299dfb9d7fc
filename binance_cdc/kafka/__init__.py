"""Kafka: change events as Debezium writes them, topic offsets, a small consumer."""
