"""Postgres against Cassandra, row for row: the judge of every fault test.

See run.py for how a table is compared (bucket checksums on both sides, rows
only where they differ) and canonical.py for when two values are equal.
"""

from binance_cdc.verify.result import RowDifference, TableDiff, VerifyResult
from binance_cdc.verify.run import verify, verify_until

__all__ = ["RowDifference", "TableDiff", "VerifyResult", "verify", "verify_until"]
