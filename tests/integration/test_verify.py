"""`verify` against the real Postgres and Cassandra: rows written to each side directly.

Each test uses its own symbols and restricts verify to them, because the shared
tables hold other tests' (and the pipeline's) rows. The connector is running,
so these Postgres rows also reach Kafka and, while the stream runs, Cassandra:
test writes to Cassandra carry write timestamps above any LSN, and a key that
must stay missing gets such a tombstone first, so the stream cannot change a
test's set-up. Every row is removed from both sides afterwards, leaving the
shared tables matching.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from binance_cdc.cli.main import main
from binance_cdc.datasets import DATASETS, KLINES, LATEST_PRICES, ORDER_BOOK, Dataset
from binance_cdc.settings import Settings
from binance_cdc.sink.connection import cassandra_session
from binance_cdc.verify import verify, verify_until
from tests.conftest import wait_for
from tests.helpers.cassandra import delete_replica, write_replica
from tests.helpers.rows import first_non_key_column, insert_sql, key_where, sample_row

pytestmark = [pytest.mark.postgres, pytest.mark.cassandra]


@pytest.fixture
def cass(settings: Settings) -> Iterator[object]:
    def connect() -> object:
        manager = cassandra_session(settings.cassandra, keyspace=settings.cassandra.keyspace)
        return manager, manager.__enter__()

    manager, session = wait_for("Cassandra", connect, timeout_s=60)
    try:
        yield session
    finally:
        manager.__exit__(None, None, None)


class Sides:
    """Writes to both sides for one test, and removes every written row afterwards."""

    def __init__(self, settings: Settings, session: object) -> None:
        self.settings = settings
        self.session = session
        self.keyspace = settings.cassandra.keyspace
        self.written: list[tuple[Dataset, dict[str, object]]] = []

    def postgres(self, dataset: Dataset, rows: list[dict[str, object]]) -> None:
        # Keep the row away from the replica even if the stream runs.
        delete_replica(self.session, dataset, self.keyspace, rows)
        self.written += [(dataset, r) for r in rows]
        with psycopg.connect(self.settings.postgres.dsn(), autocommit=True) as conn:
            with conn.cursor() as cur:
                cur.executemany(insert_sql(dataset, self.settings.postgres.schema_name),
                                [list(r.values()) for r in rows])

    def cassandra(self, dataset: Dataset, rows: list[dict[str, object]]) -> None:
        self.written += [(dataset, r) for r in rows]
        write_replica(self.session, dataset, self.keyspace, rows)

    def delete_replica(self, dataset: Dataset, rows: list[dict[str, object]]) -> None:
        delete_replica(self.session, dataset, self.keyspace, rows)

    def clean(self) -> None:
        schema = self.settings.postgres.schema_name
        with psycopg.connect(self.settings.postgres.dsn(), autocommit=True) as conn:
            for dataset, row in self.written:
                conn.execute(f"DELETE FROM {schema}.{dataset.name} "
                             f"WHERE {key_where(dataset)}", [row[k] for k in dataset.primary_key])
                delete_replica(self.session, dataset, self.keyspace, [row])


@pytest.fixture
def sides(settings: Settings, cass: object) -> Iterator[Sides]:
    both = Sides(settings, cass)
    try:
        yield both
    finally:
        both.clean()


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.name)
def test_identical_rows_match(settings: Settings, sides: Sides, dataset: Dataset,
                              unique_name: str) -> None:
    rows = [sample_row(dataset, unique_name, n) for n in (1, 2, 3)]
    if dataset.primary_key == ("symbol",):
        rows = [sample_row(dataset, f"{unique_name}_{n}", n) for n in (1, 2, 3)]
    symbols = sorted({str(r["symbol"]) for r in rows})
    sides.postgres(dataset, rows)
    sides.cassandra(dataset, rows)

    result = verify(settings, [dataset.name], symbols=symbols)

    diff = result.table(dataset.name)
    assert diff.matches, diff
    assert (diff.postgres_rows, diff.cassandra_rows) == (3, 3)


def test_missing_extra_and_different_rows_are_found(settings: Settings, sides: Sides,
                                                    unique_name: str) -> None:
    dataset = ORDER_BOOK
    both, missing, extra, changed = (sample_row(dataset, unique_name, n) for n in (1, 2, 3, 4))
    sides.postgres(dataset, [both, missing, changed])
    replica_changed = {**changed, first_non_key_column(dataset): Decimal("0.5")}
    sides.cassandra(dataset, [both, extra, replica_changed])

    diff = verify(settings, [dataset.name], symbols=[unique_name]).table(dataset.name)

    assert (diff.postgres_rows, diff.cassandra_rows) == (3, 3)
    assert (diff.missing, diff.extra, diff.different) == (1, 1, 1)
    assert diff.sample_missing == ({"symbol": unique_name, "side": "bid", "price": str(missing["price"])},)
    assert diff.sample_extra == ({"symbol": unique_name, "side": "bid", "price": str(extra["price"])},)
    assert diff.sample_different == ({"symbol": unique_name, "side": "bid",
                                      "price": str(changed["price"])},)


def test_decimal_scale_and_sub_millisecond_digits_do_not_count_as_differences(
        settings: Settings, sides: Sides, unique_name: str) -> None:
    row = sample_row(KLINES, unique_name)  # timestamps carry .123456 s
    sides.postgres(KLINES, [{**row, "open": Decimal("1.10000")}])
    sides.cassandra(KLINES, [{**row, "open": Decimal("1.1")}])
    assert verify(settings, ["klines"], symbols=[unique_name]).matches


def test_a_millisecond_off_is_a_difference(settings: Settings, sides: Sides,
                                           unique_name: str) -> None:
    import datetime as dt

    row = sample_row(LATEST_PRICES, unique_name)
    sides.postgres(LATEST_PRICES, [row])
    later = {**row, "updated_at": row["updated_at"] + dt.timedelta(milliseconds=1)}
    sides.cassandra(LATEST_PRICES, [later])
    diff = verify(settings, ["latest_prices"], symbols=[unique_name]).table("latest_prices")
    assert diff.different == 1


def test_wait_rechecks_until_the_replica_catches_up(settings: Settings, sides: Sides,
                                                    unique_name: str) -> None:
    import threading

    row = sample_row(LATEST_PRICES, unique_name)
    sides.postgres(LATEST_PRICES, [row])
    late = threading.Timer(3.0, sides.cassandra, (LATEST_PRICES, [row]))
    late.start()
    try:
        result = verify_until(settings, ["latest_prices"], symbols=[unique_name], wait_s=30,
                              interval_s=1)
    finally:
        late.join()
    assert result.matches
    assert result.attempts >= 2


def test_cli_exit_status_and_json(settings: Settings, sides: Sides, unique_name: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    row = sample_row(LATEST_PRICES, unique_name)
    sides.postgres(LATEST_PRICES, [row])

    assert main(["verify", "latest_prices", "--symbol", unique_name]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and f"symbol={unique_name}" in out and "MISMATCH" in out

    sides.cassandra(LATEST_PRICES, [row])
    assert main(["verify", "latest_prices", "--symbol", unique_name, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["matches"] is True
    assert report["tables"][0]["postgres_rows"] == 1

    sides.delete_replica(LATEST_PRICES, [row])
    assert main(["verify", "latest_prices", "--symbol", unique_name]) == 1


def test_cli_until_equal_waits_for_the_replica_as_a_user_runs_it(
        settings: Settings, sides: Sides, unique_name: str) -> None:
    import subprocess
    import sys

    from binance_cdc.settings import PROJECT_ROOT

    row = sample_row(LATEST_PRICES, unique_name)
    sides.postgres(LATEST_PRICES, [row])
    verify_cli = subprocess.Popen(
        [sys.executable, "-m", "binance_cdc", "verify", "latest_prices", "--symbol", unique_name,
         "--until-equal", "--timeout", "60"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in verify_cli.stderr:  # type: ignore[union-attr]
            if "latest_prices differ; checking again" in line:
                sides.cassandra(LATEST_PRICES, [row])  # the replica catches up only now
                break
        out, err = verify_cli.communicate(timeout=120)
    finally:
        if verify_cli.poll() is None:
            verify_cli.kill()
            verify_cli.wait()
    assert verify_cli.returncode == 0, out + err
    assert "all tables match" in out and " 1 attempt(s)" not in out


def test_cli_cannot_verify_when_cassandra_is_unreachable(settings: Settings) -> None:
    import socket
    import subprocess
    import sys

    from binance_cdc.settings import PROJECT_ROOT

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = subprocess.run([sys.executable, "-m", "binance_cdc", "verify"], cwd=PROJECT_ROOT,
                          env={"PATH": "/usr/bin:/bin", "CASSANDRA_PORT": str(port)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot reach Cassandra at 127.0.0.1:{port}" in done.stderr


def test_cli_unknown_table_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "no_such_table"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot verify no_such_table: expected some of")
    assert "\n" not in err
