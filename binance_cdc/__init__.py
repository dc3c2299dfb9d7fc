"""binance-cdc: Binance market data -> PostgreSQL -> Debezium/Kafka -> Spark -> Cassandra."""

__version__ = "0.1.0"
