"""verify --until-equal: what it waits out and what it raises at once (verify itself faked)."""

from __future__ import annotations

import pytest

from binance_cdc.errors import SinkError
from binance_cdc.settings import Settings
from binance_cdc.verify import run
from binance_cdc.verify.result import TableDiff, VerifyResult

MATCHING = VerifyResult((TableDiff("latest_prices", 1, 1, 0, 0, 0),))


class Script:
    """Stands in for run.verify: raises or returns its answers in order."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_an_unreachable_cassandra_is_waited_out(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Script(SinkError("cannot reach Cassandra", retryable=True), MATCHING)
    monkeypatch.setattr(run, "verify", fake)
    result = run.verify_until(Settings(), ["latest_prices"], wait_s=5, interval_s=0.01)
    assert result.matches and result.attempts == 2 and fake.calls == 2


def test_an_error_a_retry_cannot_fix_is_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Script(SinkError("no such keyspace"), MATCHING)
    monkeypatch.setattr(run, "verify", fake)
    with pytest.raises(SinkError, match="no such keyspace"):
        run.verify_until(Settings(), ["latest_prices"], wait_s=5, interval_s=0.01)
    assert fake.calls == 1


def test_without_a_wait_the_first_error_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Script(SinkError("cannot reach Cassandra", retryable=True), MATCHING)
    monkeypatch.setattr(run, "verify", fake)
    with pytest.raises(SinkError, match="cannot reach Cassandra"):
        run.verify_until(Settings(), ["latest_prices"], wait_s=0)
    assert fake.calls == 1
