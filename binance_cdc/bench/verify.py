"""`bench verify`: how fast `verify` compares large tables, and in how much memory.

Loads N identical trades straight into a sandbox (Postgres COPY; Cassandra
batched inserts into recent_trades and, by the query table's own derive, into
trades_by_day), plants a few known differences, then runs
``binance-cdc verify recent_trades trades_by_day --json`` as a child process
pointed at the sandbox: its wall time gives rows/s, its resource usage the
peak resident memory (ru_maxrss, what the kernel measured for that process
alone). The run passes only if verify found exactly the planted differences.
The sandbox is dropped afterwards unless ``keep``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from binance_cdc.bench.sandbox import CassandraLoader, Sandbox, derived_rows, quiet_driver, trade_rows
from binance_cdc.datasets import RECENT_TRADES
from binance_cdc.errors import ConfigError
from binance_cdc.postgres.connection import connect
from binance_cdc.settings import PROJECT_ROOT, Settings, env_var_for
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.sink.query_tables import TRADES_BY_DAY

log = logging.getLogger(__name__)

SYMBOLS = 8
LOAD_CHUNK = 10_000
COMPACTION_QUIET_S = 10.0
COMPACTION_WAIT_S = 900.0
COLUMNS = RECENT_TRADES.column_names


@dataclass(frozen=True)
class Planted:
    table: str
    kind: str
    key: dict[str, str]


@dataclass
class VerifyRun:
    """One run of the verify command: what the kernel and verify itself measured."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    """ru_maxrss of the verify process."""
    exit_status: int = 0
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    """Table -> rows, seconds and rows/s as verify reported them."""
    found: list[Planted] = field(default_factory=list)
    """The rows verify named (its samples)."""
    differences: int = 0
    """Every difference verify counted, named or not."""


@dataclass
class VerifyFigures:
    rows: int
    sandbox: str
    load_s: float = 0.0
    """Generating the trades and loading them into all three tables."""
    matching: VerifyRun = field(default_factory=VerifyRun)
    """verify on identical tables: the speed and memory figures."""
    planted_run: VerifyRun = field(default_factory=VerifyRun)
    """verify once the differences are planted: does it find exactly them."""
    planted: list[Planted] = field(default_factory=list)
    cleanup: str = ""

    @property
    def exact(self) -> bool:
        """Whether verify found nothing on identical tables and then exactly the planted rows."""
        def key(p: Planted) -> tuple[str, str, tuple[tuple[str, str], ...]]:
            return p.table, p.kind, tuple(sorted(p.key.items()))
        run = self.planted_run
        return (self.matching.exit_status == 0 and self.matching.differences == 0
                and run.differences == len(self.planted)
                and sorted(map(key, self.planted)) == sorted(map(key, run.found)))

    @property
    def rows_per_s(self) -> float:
        """Rows of both tables over the matching run's whole wall time (start-up included)."""
        return 2 * self.rows / self.matching.wall_s if self.matching.wall_s else 0.0

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "exact": self.exact, "rows_per_s": round(self.rows_per_s)}


def bench_verify(settings: Settings, *, rows: int, keep: bool = False) -> VerifyFigures:
    if rows < 100:
        raise ConfigError(f"--rows {rows} is too small to plant differences in; use 100 or more")
    sandbox = Sandbox.create(settings, prefix="bench_verify")
    figures = VerifyFigures(rows, sandbox.name)
    try:
        _load(sandbox, figures)
        figures.matching = _run_verify(sandbox)
        log.info("bench verify: identical tables verified in %.0fs", figures.matching.wall_s)
        figures.planted = _plant(sandbox, rows)
        figures.planted_run = _run_verify(sandbox)
    finally:
        if keep:
            figures.cleanup = f"kept: POSTGRES_SCHEMA={sandbox.name} CASSANDRA_KEYSPACE={sandbox.name}"
        else:
            sandbox.drop()
            figures.cleanup = f"dropped schema and keyspace {sandbox.name}"
    return figures


def _symbols(sandbox: Sandbox) -> list[str]:
    return [f"BV{sandbox.name[-6:].upper()}{i}USDT" for i in range(SYMBOLS)]


def _load(sandbox: Sandbox, figures: VerifyFigures) -> None:
    """Generate the trades once, a chunk at a time, into all three tables."""
    started = time.monotonic()
    schema, names = sandbox.name, ", ".join(f'"{c}"' for c in COLUMNS)
    rows = trade_rows(figures.rows, symbols=_symbols(sandbox))
    with connect(sandbox.settings.postgres, autocommit=False) as conn, conn.cursor() as cur, \
            cur.copy(f'COPY "{schema}"."{RECENT_TRADES.name}" ({names}) FROM STDIN') as copy, \
            cassandra_session(sandbox.settings.cassandra, timeout_s=10) as session, quiet_driver():
        trades = CassandraLoader(session, schema, RECENT_TRADES.name, COLUMNS)
        by_day = CassandraLoader(session, schema, TRADES_BY_DAY.name, TRADES_BY_DAY.columns)
        while chunk := list(itertools.islice(rows, LOAD_CHUNK)):
            for row in chunk:
                copy.write_row(row)
            trades.add(chunk)
            by_day.add(derived_rows(TRADES_BY_DAY, chunk, COLUMNS))
            if trades.count % (100 * LOAD_CHUNK) == 0:
                log.info("bench verify: %d of %d trades loaded", trades.count, figures.rows)
        trades.finish()
        by_day.finish()
    with connect(sandbox.settings.postgres) as conn:
        conn.execute(f'ANALYZE "{schema}"."{RECENT_TRADES.name}"')
    figures.load_s = time.monotonic() - started
    _wait_for_compactions(sandbox)
    log.info("bench verify: %d trades in Postgres, Cassandra recent_trades and trades_by_day "
             "in %.0fs", figures.rows, figures.load_s)


def _wait_for_compactions(sandbox: Sandbox) -> None:
    """Let Cassandra finish compacting what the load wrote, so verify is timed alone."""
    started = quiet_since = time.monotonic()
    # The compaction view is the node's, not the keyspace's: the superuser reads it.
    with cassandra_session(sandbox.settings.cassandra, timeout_s=10, admin=True) as session:
        while time.monotonic() - quiet_since < COMPACTION_QUIET_S:
            if time.monotonic() - started > COMPACTION_WAIT_S:
                log.warning("bench verify: Cassandra is still compacting after %.0fs; timing "
                            "verify anyway", COMPACTION_WAIT_S)
                return
            tasks = list(session.execute(
                "SELECT kind, completion_ratio FROM system_views.sstable_tasks "
                "WHERE keyspace_name = %s", (sandbox.name,)))
            if tasks:
                quiet_since = time.monotonic()
                log.info("bench verify: waiting for %d compaction task(s) on the sandbox",
                         len(tasks))
            time.sleep(2.0)
    log.info("bench verify: no compaction running after %.0fs", time.monotonic() - started)


def _plant(sandbox: Sandbox, rows: int) -> list[Planted]:
    """Plant one missing, one extra and one different trade, and one stale trades_by_day row."""
    symbols = _symbols(sandbox)
    wanted = {0, rows // 2, rows // 2 + 1, rows - 1}
    picked: dict[int, tuple[Any, ...]] = {n: row for n, row in enumerate(trade_rows(rows, symbols=symbols))
                                          if n in wanted}
    first, middle, moved, last = (picked[n] for n in sorted(wanted))
    extra = (last[0], int(last[1]) + 10, *last[2:])
    schema, trades = sandbox.name, RECENT_TRADES.name
    day_later = moved[5] + dt.timedelta(days=1)
    with connect(sandbox.settings.postgres) as conn:
        conn.execute(f'UPDATE "{schema}"."{trades}" SET price = price + %s '
                     "WHERE symbol = %s AND trade_id = %s", (Decimal("1E-13"), *middle[:2]))
        conn.execute(f'UPDATE "{schema}"."{trades}" SET trade_time = %s '
                     "WHERE symbol = %s AND trade_id = %s", (day_later, *moved[:2]))
    with cassandra_session(sandbox.settings.cassandra, keyspace=schema, timeout_s=10) as session:
        session.execute(f"DELETE FROM {trades} WHERE symbol = %s AND trade_id = %s", first[:2])
        first_by_day = TRADES_BY_DAY.derive(dict(zip(COLUMNS, first)))
        session.execute(
            "DELETE FROM trades_by_day WHERE symbol = %s AND trade_date = %s AND trade_time = %s "
            "AND trade_id = %s", [first_by_day[k] for k in TRADES_BY_DAY.key])
        sandbox.insert_into_cassandra(session, trades, COLUMNS, [extra])
        sandbox.insert_into_cassandra(session, TRADES_BY_DAY.name, TRADES_BY_DAY.columns,
                                      derived_rows(TRADES_BY_DAY, [extra, (*moved[:5], day_later,
                                                                          *moved[6:])], COLUMNS))
        session.execute(f"UPDATE {trades} SET trade_time = %s WHERE symbol = %s "
                        "AND trade_id = %s", (day_later, *moved[:2]))
    stale = TRADES_BY_DAY.derive(dict(zip(COLUMNS, moved)))
    return [
        Planted(trades, "missing", _key(first)),
        Planted(trades, "extra", _key(extra)),
        Planted(trades, "different", _key(middle)),
        Planted(TRADES_BY_DAY.name, "extra", {
            "symbol": stale["symbol"], "trade_date": stale["trade_date"].isoformat(),
            "trade_time": _iso(stale["trade_time"]), "trade_id": str(stale["trade_id"])}),
    ]


def _key(row: tuple[object, ...]) -> dict[str, str]:
    return {"symbol": str(row[0]), "trade_id": str(row[1])}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _run_verify(sandbox: Sandbox) -> VerifyRun:
    """``binance-cdc verify recent_trades trades_by_day --json`` on the sandbox, as a child."""
    env = dict(os.environ)
    env[env_var_for("postgres", "schema_name")] = sandbox.name
    env[env_var_for("cassandra", "keyspace")] = sandbox.name
    command = [sys.executable, "-m", "binance_cdc", "verify", RECENT_TRADES.name,
               TRADES_BY_DAY.name, "--json"]
    run = VerifyRun()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env,  # noqa: S603
                                 stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        run.wall_s = time.monotonic() - started
        child.returncode = run.exit_status = os.waitstatus_to_exitcode(status)
        run.cpu_s = usage.ru_utime + usage.ru_stime
        run.peak_rss_mb = usage.ru_maxrss / 1024  # Linux reports KiB
        out.seek(0)
        err.seek(0)
        output, errors = out.read().decode(), err.read().decode()
    try:
        report = json.loads(output)
    except ValueError:
        raise ConfigError(f"verify exited {run.exit_status} without a JSON report: "
                          f"{errors.strip()[-2000:]}") from None
    for table in report["tables"]:
        run.tables[table["table"]] = {
            "expected_rows": table["postgres_rows"], "cassandra_rows": table["cassandra_rows"],
            "seconds": round(table["seconds"], 2), "rows_per_s": table["rows_per_s"]}
        run.found += [Planted(table["table"], s["kind"], s["key"]) for s in table["samples"]]
        run.differences += table["missing"] + table["extra"] + table["different"]
    return run
