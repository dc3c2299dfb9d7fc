"""Postgres against Cassandra, row for row: the judge of every fault test."""

from binance_cdc.verify.compare import TableDiff, VerifyResult, compare_rows
from binance_cdc.verify.run import verify, verify_until

__all__ = ["TableDiff", "VerifyResult", "compare_rows", "verify", "verify_until"]
