"""Cassandra: the replica, query and dead-letter tables the stream writes."""
