"""Every request is bounded: one deadline over all its attempts, and a cap on the answer's size.

Against the in-process simulator, and against a tiny scripted HTTP server for what
the simulator never does (an endless body, a body dribbled a byte at a time, a
gzip body that inflates far beyond its Content-Length).
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from binance_cdc.binance.client import READ_CHUNK, BinanceClient
from binance_cdc.binance.policy import WeightBudget
from binance_cdc.binance.simulator.faults import Fault
from binance_cdc.errors import RateLimitedError, RequestDeadlineError, ResponseTooLargeError
from binance_cdc.settings import BinanceSettings

JSON_HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


class ScriptedServer:
    """Answers every request on 127.0.0.1 with ``answer(connection, server)``, one thread each."""

    def __init__(self, answer: Callable[[socket.socket, ScriptedServer], None]) -> None:
        self.answer = answer
        self.stopped = threading.Event()
        self.sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                data = connection.recv(4096)
                if not data:
                    return
                request += data
            try:
                self.answer(connection, self)
            except OSError:
                pass  # the client hung up, as it should

    def send(self, connection: socket.socket, data: bytes) -> None:
        connection.sendall(data)
        self.sent += len(data)

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(5)
        self._listener.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[socket.socket, ScriptedServer], None]],
                                    ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(answer: Callable[[socket.socket, ScriptedServer], None]) -> ScriptedServer:
        servers.append(ScriptedServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def endless_body(connection: socket.socket, server: ScriptedServer) -> None:
    """No Content-Length: the body ends when the connection does, i.e. never."""
    server.send(connection, JSON_HEADERS + b"Connection: close\r\n\r\n[")
    while not server.stopped.is_set() and server.sent < 512 * 1024 * 1024:
        server.send(connection, b"0," * 32768)


def dribbled_body(connection: socket.socket, server: ScriptedServer) -> None:
    """A byte every 50 ms: each read is quick, the whole answer would take hours."""
    server.send(connection, JSON_HEADERS + b"Content-Length: 100000\r\n\r\n")
    deadline = time.monotonic() + 20
    while not server.stopped.is_set() and time.monotonic() < deadline:
        server.send(connection, b" ")
        time.sleep(0.05)


def gzip_bomb(connection: socket.socket, server: ScriptedServer) -> None:
    """A few kB on the wire that inflate to 8 MB."""
    body = gzip.compress(b"[" + b"0," * (4 * 1024 * 1024) + b"0]")
    server.send(connection, JSON_HEADERS + b"Content-Encoding: gzip\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


class FakeClock:
    """A monotonic clock that only the client's sleeps move."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(url: str, clock: FakeClock | None = None, **settings: object) -> BinanceClient:
    if clock is None:
        return BinanceClient(BinanceSettings(base_url=url, **settings), sleep=lambda s: None)
    return BinanceClient(BinanceSettings(base_url=url, **settings), sleep=clock.sleep,
                         clock=clock)


# -- size cap -------------------------------------------------------------------------------
def test_a_declared_length_over_the_cap_is_refused_unread_and_not_retried(sim):
    with pytest.raises(ResponseTooLargeError) as info:
        make_client(sim.url, max_response_bytes=1024).depth("BTCUSDT", 100)
    error = info.value
    assert error.declared and error.size > 1024 and error.limit == 1024
    assert (error.endpoint, error.setting) == ("/api/v3/depth", "BINANCE_MAX_RESPONSE_BYTES")
    for part in ("/api/v3/depth", str(error.size), "BINANCE_MAX_RESPONSE_BYTES=1024", "raise"):
        assert part in str(error)
    assert sim.requests["/api/v3/depth"] == 1


def test_an_answer_under_the_cap_is_read_whole(sim):
    book = make_client(sim.url, max_response_bytes=1024).depth("BTCUSDT", 5)
    assert len(book["bids"]) == 5


def test_an_endless_body_is_read_only_up_to_the_cap(scripted):
    server = scripted(endless_body)
    started = time.monotonic()
    with pytest.raises(ResponseTooLargeError) as info:
        make_client(server.url, max_response_bytes=256 * 1024).ping()
    error = info.value
    assert not error.declared and 256 * 1024 < error.size <= 256 * 1024 + READ_CHUNK
    assert "bytes had arrived when reading stopped" in str(error)
    assert time.monotonic() - started < 5


def test_the_cap_counts_decompressed_bytes(scripted):
    server = scripted(gzip_bomb)
    with pytest.raises(ResponseTooLargeError) as info:
        make_client(server.url, max_response_bytes=1024 * 1024).ping()
    assert not info.value.declared and info.value.size <= 1024 * 1024 + READ_CHUNK
    assert server.sent < 100 * 1024  # the wire carried a few kB only


# -- deadline -------------------------------------------------------------------------------
def test_a_dribbled_body_fails_at_the_deadline_not_at_the_end(scripted):
    server = scripted(dribbled_body)
    started = time.monotonic()
    with pytest.raises(RequestDeadlineError) as info:
        make_client(server.url, timeout_s=5, request_deadline_s=0.5).ping()
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 2.0
    error = info.value
    assert error.endpoint == "/api/v3/ping" and error.deadline_s == 0.5
    assert "no complete answer within BINANCE_REQUEST_DEADLINE_S=0.5s" in str(error)


def test_slow_attempts_and_their_retries_share_one_deadline(sim):
    sim.faults.add(Fault("slow", delay_s=1.5, times=None))
    started = time.monotonic()
    with pytest.raises(RequestDeadlineError) as info:
        make_client(sim.url, timeout_s=0.3, request_deadline_s=1.0, max_retries=10,
                    backoff_base_s=0.01).ping()
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0  # without the deadline: 11 attempts of 0.3 s
    assert info.value.attempts >= 3
    sim.faults.clear()


def test_a_backoff_that_does_not_fit_the_deadline_is_not_waited(sim):
    sim.faults.add(Fault("500", times=None))
    clock = FakeClock()
    with pytest.raises(RequestDeadlineError) as info:
        make_client(sim.url, clock, request_deadline_s=2.0, backoff_base_s=0.5,
                    max_retries=10).ping()
    assert clock.sleeps == [0.5, 1.0]  # the next backoff, 2 s, would cross the deadline
    assert info.value.attempts == 3 and "retry was due in 2.0s" in str(info.value)
    sim.faults.clear()


def test_a_retry_after_beyond_the_deadline_fails_at_once(sim):
    sim.faults.add(Fault("429", path="/api/v3/depth", retry_after=5))
    clock = FakeClock()
    with pytest.raises(RequestDeadlineError) as info:
        make_client(sim.url, clock, request_deadline_s=2.0).depth("BTCUSDT", 5)
    assert clock.sleeps == []
    assert isinstance(info.value.__cause__, RateLimitedError)
    assert sim.requests["/api/v3/depth"] == 1


def test_waiting_for_the_weight_budget_before_the_first_attempt_is_not_counted(sim):
    clock = FakeClock()
    client = BinanceClient(BinanceSettings(base_url=sim.url, request_deadline_s=1.0),
                           budget=WeightBudget(30), sleep=clock.sleep, clock=clock)
    client.trades("BTCUSDT", 5)
    client.trades("BTCUSDT", 5)  # waits for the next minute's window, then runs
    assert len(clock.sleeps) == 1 and clock.sleeps[0] > 0
