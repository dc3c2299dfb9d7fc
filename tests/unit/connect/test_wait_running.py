"""Waiting for the connector: a worker that is restarting is waited for, a refusal is not."""

from __future__ import annotations

import pytest

from binance_cdc.connect.connector import wait_running
from binance_cdc.errors import ConnectError

RUNNING = {"connector": {"state": "RUNNING"}, "tasks": [{"state": "RUNNING"}]}


class Answers:
    """A Connect client whose status() answers (or raises) from a script, then RUNNING."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)
        self.calls = 0

    def status(self, name: str) -> dict | None:
        self.calls += 1
        answer = self.script.pop(0) if self.script else RUNNING
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_worker_that_is_restarting_is_waited_for() -> None:
    client = Answers(ConnectError("not reachable", retryable=True),
                     ConnectError("HTTP 409: rebalance in progress", retryable=True))
    assert wait_running(client, "binance", timeout_s=30) == RUNNING
    assert client.calls == 4  # two refusals, then RUNNING twice in a row


def test_an_error_a_retry_cannot_fix_is_raised_at_once() -> None:
    client = Answers(ConnectError("HTTP 401: unauthorized", retryable=False))
    with pytest.raises(ConnectError, match="401"):
        wait_running(client, "binance", timeout_s=30)
    assert client.calls == 1


def test_a_worker_that_never_answers_fails_at_the_deadline() -> None:
    client = Answers(*[ConnectError("not reachable", retryable=True)] * 100)
    with pytest.raises(ConnectError, match="not reachable"):
        wait_running(client, "binance", timeout_s=0.6)
    assert 1 < client.calls < 5
