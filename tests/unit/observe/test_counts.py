"""Which estimate `status` shows for a table too large to count."""

from __future__ import annotations

from binance_cdc.observe.counts import estimate


def test_cassandra_partitions_are_rows_where_a_partition_is_one_row() -> None:
    assert estimate("recent_trades", {"recent_trades": 10_000_000}, {"recent_trades": 9_000_000}) \
        == (10_000_000, "Cassandra size estimates")


def test_wide_partition_tables_use_postgres_statistics() -> None:
    assert estimate("klines", {"klines": 12}, {"klines": 500_000}) == \
        (500_000, "Postgres statistics of klines")


def test_a_query_table_uses_the_statistics_of_its_source() -> None:
    assert estimate("trades_by_day", {"trades_by_day": 40}, {"recent_trades": 1_000_000}) == \
        (1_000_000, "Postgres statistics of recent_trades")


def test_partitions_alone_are_labelled_as_such() -> None:
    rows, source = estimate("dead_letters", {"dead_letters": 3}, {})  # type: ignore[misc]
    assert rows == 3 and "partitions" in source


def test_no_statistics_at_all() -> None:
    assert estimate("klines", {}, {}) is None
    assert estimate("recent_trades", {"recent_trades": 0}, {}) == \
        (0, "Cassandra size estimates (partitions; rows may be more)")
