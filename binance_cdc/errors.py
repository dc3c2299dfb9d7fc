"""The project's exception tree.

Every error a user can meet derives from :class:`BinanceCdcError`; each says
whether trying again can help (``retryable``), so the loops that retry decide
without parsing messages: the Binance client's ``RetryPolicy``, ``verify
--until-equal``, waiting for the connector to run, the live writer's commits.
Adapters translate their library's errors in one place and chain the original
(``raise ... from exc``); Postgres connections are opened in ``postgres/connection.py``.

    BinanceCdcError
    ├── ConfigError                 a setting is missing or wrong
    ├── StackError                  the local services (launcher)
    │   ├── PortTakenError          a port we need belongs to another process
    │   ├── ServiceStartError       a service did not come up (names its log)
    │   └── JarResolutionError      Maven could not resolve the service jars
    ├── BinanceApiError             the Binance REST API (or the simulator)
    │   ├── RateLimitedError        429: wait Retry-After            (retryable)
    │   ├── IpBannedError           418: stop calling until the ban lifts
    │   ├── UnknownSymbolError      -1121: symbol not listed
    │   ├── BinanceServerError      5xx / connection trouble          (retryable)
    │   ├── RequestDeadlineError    a GET not done within BINANCE_REQUEST_DEADLINE_S (retryable)
    │   ├── ResponseTooLargeError   a body beyond BINANCE_MAX_RESPONSE_BYTES; not read further
    │   └── PayloadError            a response that is not what the API documents
    │       └── RejectedValueError  a well-formed value the dataset must not hold (rows not written)
    ├── StoreError                  PostgreSQL
    ├── ConnectError                Kafka Connect REST / the Debezium connector
    │   └── ConnectorFailedError    the connector or a task is FAILED (trace + likely cause)
    ├── BrokerError                 the Kafka broker (metadata, offsets, consuming)
    ├── StreamError                 the Spark job
    └── SinkError                   Cassandra
        └── CassandraLoginError     the node refused the role or its password
"""

from __future__ import annotations


class BinanceCdcError(Exception):
    """Base of every error this project raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class ConfigError(BinanceCdcError):
    """A setting is missing, malformed or inconsistent."""


class StackError(BinanceCdcError):
    """Starting, checking or stopping a local service failed."""


class PortTakenError(StackError):
    """A port the stack needs is already bound by a process we did not start."""

    def __init__(self, service: str, port: int, env_var: str) -> None:
        super().__init__(
            f"port {port} needed by {service} is taken by another process; "
            f"stop that process or set {env_var} to a free port"
        )
        self.service = service
        self.port = port
        self.env_var = env_var


class ServiceStartError(StackError):
    """A service was started but never became ready."""

    def __init__(self, service: str, reason: str, log_file: str | None = None) -> None:
        where = f"; see {log_file}" if log_file else ""
        super().__init__(f"{service} did not come up: {reason}{where}", retryable=True)
        self.service = service
        self.log_file = log_file


class JarResolutionError(StackError):
    """Maven could not resolve or copy the service jars."""


class BinanceApiError(BinanceCdcError):
    """The Binance REST API answered with an error or not at all."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 retryable: bool | None = None) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.code = code


class RateLimitedError(BinanceApiError):
    """HTTP 429: the request weight limit was hit; wait ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int = 429,
                 code: int | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class IpBannedError(BinanceApiError):
    """HTTP 418: the IP is banned; calling again only extends the ban."""

    def __init__(self, message: str, *, retry_after: float | None, code: int | None = None) -> None:
        super().__init__(message, status=418, code=code, retryable=False)
        self.retry_after = retry_after


class UnknownSymbolError(BinanceApiError):
    """The exchange does not list this symbol (delisted, renamed or mistyped)."""

    def __init__(self, symbol: str, message: str = "") -> None:
        super().__init__(
            message or f"symbol {symbol!r} is not listed on the exchange (delisted or renamed?); "
            "remove it from BINANCE_SYMBOLS",
            status=400, code=-1121, retryable=False)
        self.symbol = symbol


class BinanceServerError(BinanceApiError):
    """A 5xx answer, a timeout or a dropped connection; the GET can be retried."""

    retryable = True


class PayloadError(BinanceApiError):
    """A response body that does not have the documented shape."""

    def __init__(self, message: str, *, endpoint: str, symbol: str | None = None,
                 field: str | None = None) -> None:
        where = ", ".join(p for p in (
            f"endpoint {endpoint}", f"symbol {symbol}" if symbol else "",
            f"field {field}" if field else "") if p)
        super().__init__(f"{message} ({where})", retryable=False)
        self.endpoint = endpoint
        self.symbol = symbol
        self.field = field


class RequestDeadlineError(BinanceApiError):
    """A GET did not complete, retries and their waits included, within its overall deadline.

    Never retried by the client (the deadline bounds the retries); the next poll may succeed.
    """

    retryable = True

    def __init__(self, message: str, *, endpoint: str, deadline_s: float, elapsed_s: float,
                 attempts: int) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.deadline_s = deadline_s
        self.elapsed_s = elapsed_s
        self.attempts = attempts


class ResponseTooLargeError(BinanceApiError):
    """A response body bigger than the cap; reading stopped there (asking again gets the same)."""

    def __init__(self, *, endpoint: str, size: int, limit: int, setting: str,
                 declared: bool) -> None:
        seen = (f"it declares {size} bytes (Content-Length), not read" if declared
                else f"{size} bytes had arrived when reading stopped")
        super().__init__(
            f"{endpoint}: the answer is larger than {setting}={limit} bytes ({seen}); raise "
            f"{setting} if an answer this big is expected", retryable=False)
        self.endpoint = endpoint
        self.size = size
        self.limit = limit
        self.setting = setting
        self.declared = declared


class RejectedValueError(PayloadError):
    """A well-formed response holding a value its dataset must not store.

    A negative or non-finite price or quantity, or a symbol the request did not ask
    for. The load it belongs to writes nothing; the next poll asks again.
    """

    def __init__(self, message: str, *, dataset: str, endpoint: str, symbol: str | None,
                 field: str, value: object) -> None:
        super().__init__(f"{dataset} load rejected, nothing written: {message}",
                         endpoint=endpoint, symbol=symbol, field=field)
        self.dataset = dataset
        self.value = value


class StoreError(BinanceCdcError):
    """PostgreSQL refused or lost a statement."""


class ConnectError(BinanceCdcError):
    """Kafka Connect's REST API, or the connector it runs, reported a problem."""


class ConnectorFailedError(ConnectError):
    """The connector or one of its tasks reported FAILED."""

    def __init__(self, name: str, trace: str, cause: str) -> None:
        head = "\n    ".join(trace.strip().splitlines()[:6])
        super().__init__(f"connector {name} FAILED. Likely cause: {cause}\n    {head}")
        self.name = name
        self.trace = trace
        self.cause = cause


class BrokerError(BinanceCdcError):
    """The Kafka broker could not be reached or refused a request."""


class StreamError(BinanceCdcError):
    """The streaming job failed."""


class SinkError(BinanceCdcError):
    """Cassandra refused or lost a write."""


class CassandraLoginError(SinkError):
    """Cassandra answered and refused the role or its password: waiting does not help."""
