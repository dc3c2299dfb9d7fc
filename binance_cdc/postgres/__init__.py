"""PostgreSQL: the store the extractor writes and Debezium reads."""
