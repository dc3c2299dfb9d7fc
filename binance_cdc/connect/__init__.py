"""Kafka Connect: the REST client and the Debezium connector it runs."""
