"""Every setting of binance-cdc, in one object.

Each section reads environment variables with its own prefix (and an optional
``.env`` file in the working directory); the defaults run the local stack.
Load once at the entry point with :func:`load_settings` and pass the sections
down: no other module reads ``os.environ``. Secrets are ``SecretStr`` so they
never show up in logs or reprs. ``binance-cdc settings`` prints the table in
the README from these classes.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from binance_cdc.errors import ConfigError

if TYPE_CHECKING:
    import ast

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore",
                              env_file_encoding="utf-8")


def _split_list(value: object) -> object:
    """Comma-separated env values become lists ("BTCUSDT,ETHUSDT")."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class StackSettings(BaseSettings):
    """Where the local stack keeps its files and how the JVMs are sized."""

    model_config = _section("STACK_")

    home: Path = PROJECT_ROOT / ".stack"
    """Data, logs, pid files and the resolved jars of every local service."""
    java: str = "java"
    """The Java 17 executable that runs Kafka, Connect and Cassandra."""
    mvn: str = "mvn"
    """The Maven executable that resolves the service jars."""
    start_timeout_s: float = 180.0
    """How long `stack up` waits for one service to answer."""
    stop_timeout_s: float = 60.0
    """How long `stack down` waits for one service to exit before SIGKILL."""
    os_user: str = "binance-cdc"
    """Unprivileged account Kafka, Connect and Cassandra run as when launched by root (created)."""

    @property
    def jars_dir(self) -> Path:
        return self.home / "jars"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def secrets_file(self) -> Path:
        """The generated passwords (binance_cdc/passwords.py)."""
        return self.home / "secrets.env"

    @property
    def cqlsh_credentials(self) -> Path:
        """cqlsh's --credentials file for CASSANDRA_USER, written by `stack up` (mode 0600)."""
        return self.home / "cqlsh-credentials"


class PostgresSettings(BaseSettings):
    """The PostgreSQL server holding the `binance` schema."""

    model_config = _section("POSTGRES_")

    host: str = "127.0.0.1"
    """Host the extractor, Debezium and verify connect to."""
    port: int = 5432
    """TCP port of PostgreSQL."""
    database: str = "binance"
    """Database that holds the `binance` schema."""
    schema_name: str = Field("binance", validation_alias="POSTGRES_SCHEMA")
    """Schema of the replicated tables (sql/ creates them there; connector, topics, verify follow)."""
    user: str = "binance"
    """Role the extractor writes with (owns the schema)."""
    password: SecretStr = SecretStr("")
    """Password of POSTGRES_USER (unset: generated into STACK_HOME/secrets.env)."""
    admin_user: str = "postgres"
    """Superuser of the local cluster (creates roles and the database)."""
    admin_password: SecretStr = SecretStr("")
    """Password of POSTGRES_ADMIN_USER (unset: generated into STACK_HOME/secrets.env)."""
    debezium_user: str = "debezium"
    """Replication role Debezium logs in with (REPLICATION, SELECT only)."""
    debezium_password: SecretStr = SecretStr("")
    """Password of POSTGRES_DEBEZIUM_USER (unset: generated); reaches Connect through its env."""
    bin_dir: Path = Path("/usr/lib/postgresql/15/bin")
    """Where initdb, pg_ctl and postgres live (Debian's postgresql-15)."""
    os_user: str = "postgres"
    """OS account that runs the server when the launcher runs as root."""

    def dsn(self, *, admin: bool = False, database: str | None = None) -> str:
        user, password = ((self.admin_user, self.admin_password) if admin
                          else (self.user, self.password))
        return (f"host={self.host} port={self.port} dbname={database or self.database} "
                f"user={user} password={password.get_secret_value()} connect_timeout=5")


class KafkaSettings(BaseSettings):
    """The single-node KRaft Kafka broker."""

    model_config = _section("KAFKA_")

    host: str = "127.0.0.1"
    """Host clients connect to."""
    port: int = 9092
    """Broker (PLAINTEXT) port."""
    controller_port: int = 9093
    """KRaft controller port."""
    heap: str = "512m"
    """JVM heap of the broker."""
    topic_prefix: str = "binance"
    """Debezium topic.prefix; topics are <prefix>.<schema>.<table>."""
    metrics_port: int = 9404
    """Port of the broker's Prometheus JMX exporter agent (on KAFKA_HOST); 0 runs it without."""

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"


class ConnectSettings(BaseSettings):
    """The Kafka Connect worker running Debezium."""

    model_config = _section("CONNECT_")

    host: str = "127.0.0.1"
    """Host of the Connect REST API."""
    port: int = 8083
    """Port of the Connect REST API."""
    heap: str = "768m"
    """JVM heap of the worker."""
    group_id: str = "binance-connect"
    """Connect cluster group id (names the worker's internal topics)."""
    connector_file: Path = PROJECT_ROOT / "debezium" / "binance-postgres.json"
    """The Debezium connector definition `connector apply` registers."""
    database_host: str | None = None
    """Postgres host as the Connect worker sees it (docker-compose: postgres); default POSTGRES_HOST."""
    database_port: int | None = None
    """Postgres port as the Connect worker sees it; default POSTGRES_PORT."""
    ready_timeout_s: float = 90.0
    """How long `connector apply` waits for the connector and its task to run."""
    slot_lag_warn_bytes: int = 64 * 1024 * 1024
    """`connector status` warns, and Prometheus alerts, when the slot retains more WAL than this."""
    topic_partitions: int = Field(3, ge=1)
    """Partitions of each change topic Debezium creates (per-key order holds: keys hash to one)."""
    poll_interval_ms: int = Field(25, ge=1)
    """How long Debezium waits for new changes before it polls the slot again (latency floor)."""
    metrics_port: int = 9405
    """Port of the worker's Prometheus JMX exporter agent (Connect and Debezium metrics); 0: none."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class CassandraSettings(BaseSettings):
    """The Cassandra node the stream writes to."""

    model_config = _section("CASSANDRA_")

    host: str = "127.0.0.1"
    """CQL contact point."""
    port: int = 9042
    """CQL native transport port."""
    user: str = "binance_cdc"
    """Role the stream, verify and the exporter log in with (reads and writes the keyspace only)."""
    password: SecretStr = SecretStr("")
    """Password of CASSANDRA_USER (unset: generated into STACK_HOME/secrets.env)."""
    admin_user: str = "binance_cdc_admin"
    """Superuser role: creates the keyspace, its tables and CASSANDRA_USER."""
    admin_password: SecretStr = SecretStr("")
    """Password of CASSANDRA_ADMIN_USER (unset: generated into STACK_HOME/secrets.env)."""
    storage_port: int = 7000
    """Inter-node port (bound even by a single node)."""
    jmx_port: int = 0
    """JMX port for nodetool (7199), on 127.0.0.1 without a password; 0: no JMX port at all."""
    heap: str = "1G"
    """JVM heap of the node."""
    keyspace: str = "binance"
    """Keyspace of the replica, query and dead-letter tables."""
    replication_class: str = "SimpleStrategy"
    """Replication strategy of the keyspace."""
    replication_factor: int = 1
    """Replication factor of the keyspace."""
    write_consistency: str = "LOCAL_QUORUM"
    """Consistency level of the stream's writes (LOCAL_QUORUM is one replica when RF is 1)."""
    metrics_port: int = 9406
    """Port of the node's Prometheus JMX exporter agent (on CASSANDRA_HOST); 0 runs it without."""

    @field_validator("write_consistency")
    @classmethod
    def _known_level(cls, value: str) -> str:
        levels = ("ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM",
                  "LOCAL_ONE")
        if value.upper() not in levels:
            raise ValueError(f"{value!r} is not a Cassandra consistency level ({', '.join(levels)})")
        return value.upper()


class SparkSettings(BaseSettings):
    """The Structured Streaming job."""

    model_config = _section("SPARK_")

    master: str = "local[2]"
    """Default master in the properties file; `spark-submit --master` wins over it."""
    driver_memory: str = "1g"
    """Driver heap (in the properties file: it must be known before the JVM starts)."""
    executor_memory: str = "1g"
    """Heap of each executor on a Spark cluster."""
    cores_max: int = 2
    """Cores the job takes on a standalone cluster (spark.cores.max; the default is all)."""
    driver_host: str = "127.0.0.1"
    """Address the driver binds and advertises; executors on other machines must reach it."""
    checkpoint_dir: Path = PROJECT_ROOT / ".stack" / "data" / "spark-checkpoint"
    """Where the queries keep offsets (one folder per table); delete to replay from the earliest."""
    trigger_seconds: float = 0.2
    """Micro-batch trigger interval."""
    max_offsets_per_trigger: int = 50_000
    """Upper bound of records read per micro-batch."""
    query_name: str = "binance-cdc"
    """Name of the streaming query (also its row in Cassandra's stream_progress)."""
    restart_delay_s: float = 10.0
    """Pause before the job restarts its query after a failure (e.g. Cassandra down)."""
    max_restarts: int = 100
    """Failures in a row after which the job gives up and exits non-zero."""
    log_level: str = "WARN"
    """Log level of Spark's JVM side."""
    dead_letter_max_bytes: int = Field(65536, ge=256)
    """A dead letter keeps at most this many characters of the record (and its original size)."""
    write_timeout_s: float = Field(180.0, gt=0)
    """A micro-batch's connector write that takes longer is treated as a stuck session: renewed, replayed."""
    trade_metrics: bool = True
    """Compute per-minute trade metrics (OHLC, volumes, VWAP) into Cassandra's trade_metrics_1m."""
    trade_metrics_watermark_s: float = Field(120.0, gt=0)
    """How late (in trade time) a trade may reach the stream and still update its minute."""
    cluster_host: str = "127.0.0.1"
    """Address the local standalone cluster (`stack up spark`) binds."""
    cluster_master_port: int = 7077
    """Port of the standalone master: `spark-submit --master spark://127.0.0.1:7077`."""
    cluster_master_ui_port: int = 8080
    """Web UI (and /json/ status) of the standalone master."""
    cluster_worker_ui_port: int = 8081
    """Web UI of the first worker; worker N uses this port + N - 1."""
    cluster_workers: int = Field(2, ge=1)
    """Workers of the local standalone cluster."""
    cluster_worker_cores: int = Field(1, ge=1)
    """Cores each worker offers to applications."""
    cluster_worker_memory: str = "1g"
    """Memory each worker offers to executors."""
    cluster_daemon_memory: str = "256m"
    """Heap of the master and worker daemons themselves."""


class BinanceSettings(BaseSettings):
    """The Binance REST API (or the bundled simulator)."""

    model_config = _section("BINANCE_")

    base_url: str = "https://api.binance.com"
    """REST base URL; point it at the simulator (http://127.0.0.1:8765) for offline runs."""
    symbols: Annotated[list[str], NoDecode] = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]
    """Symbols to extract, comma-separated."""
    timeout_s: float = Field(10.0, gt=0)
    """Longest wait, per attempt, for the connection or for the next bytes of an answer."""
    request_deadline_s: float = Field(120.0, gt=0)
    """Longest one request may take in all: connects, reads, retries and their waits; then it fails."""
    max_response_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    """Largest answer read (decompressed), else the request fails; fit /exchangeInfo of all symbols."""
    weight_budget_per_minute: int = 4800
    """Slow down before X-MBX-USED-WEIGHT-1M reaches this (the exchange limit is 6000)."""
    max_retries: int = 5
    """Retries for connection errors, 5xx and 429."""
    backoff_base_s: float = 0.5
    """First retry delay; doubles each attempt."""
    backoff_max_s: float = 30.0
    """Longest delay between two retries of a connection error or 5xx."""
    max_retry_after_s: float = 120.0
    """Longest 429 Retry-After waited out (within BINANCE_REQUEST_DEADLINE_S) before failing the dataset."""

    _split_symbols = field_validator("symbols", mode="before")(_split_list)


class ExtractSettings(BaseSettings):
    """What the extractor pulls and how often."""

    model_config = _section("EXTRACT_")

    datasets: Annotated[list[str], NoDecode] = [
        "recent_trades", "order_book", "klines", "daily_ticker", "latest_prices"]
    """Datasets to run, comma-separated."""
    prices_interval_s: float = 10.0
    """Seconds between latest_prices polls."""
    trades_interval_s: float = 10.0
    """Seconds between recent_trades polls."""
    depth_interval_s: float = 30.0
    """Seconds between order_book polls."""
    klines_interval_s: float = 60.0
    """Seconds between klines polls."""
    tickers_interval_s: float = 60.0
    """Seconds between daily_ticker polls."""
    depth_limit: int = 20
    """Order-book levels per side kept in Postgres."""
    trades_limit: int = 1000
    """Trades asked for per /trades call (max 1000)."""
    kline_intervals: Annotated[list[str], NoDecode] = ["1m"]
    """Kline intervals, comma-separated (1m,5m,1h...)."""
    klines_backfill: int = 500
    """Candles fetched per symbol and interval on the first run."""
    backfill_max_pages: int = 20
    """Pages per symbol and poll for trade-id gaps (historicalTrades) or a klines catch-up."""
    historical_trades_limit: int = 1000
    """Trades asked for per /historicalTrades page when backfilling a gap (max 1000)."""
    ticker_batch_size: int = 20
    """Symbols per multi-symbol ticker/24hr call (up to 20 cost weight 2, 21-100 cost 40)."""
    symbols_refresh_s: float = 3600.0
    """How often the symbol list is checked again against /api/v3/exchangeInfo."""

    _split = field_validator("datasets", "kline_intervals", mode="before")(_split_list)


class LiveTradesSettings(BaseSettings):
    """The live trade writer: Binance's WebSocket trade streams into recent_trades.

    Connection defaults are Binance's documented limits for Spot market streams
    (developers.binance.com, "WebSocket Streams for Binance", General WSS
    information and WebSocket Limits).
    """

    model_config = _section("LIVE_")

    ws_url: str = "wss://stream.binance.com:9443"
    """WebSocket base URL (combined streams at /stream); the simulator's is ws://127.0.0.1:8766."""
    flush_interval_s: float = 0.25
    """A received trade is committed to Postgres at most this long after it arrived."""
    batch_rows: int = 1000
    """Commit as soon as this many trades are waiting, even before LIVE_FLUSH_INTERVAL_S."""
    ping_interval_s: float = 20.0
    """Our keepalive ping; Binance pings every 20 s (our pong answers it automatically)."""
    ping_timeout_s: float = 60.0
    """Drop a connection whose pong is this late; Binance disconnects after 1 minute without one."""
    connection_lifetime_s: float = 86400.0
    """Binance closes every connection at the 24-hour mark."""
    rotate_margin_s: float = 3600.0
    """Open a replacement connection this long before LIVE_CONNECTION_LIFETIME_S and switch over."""
    reconnect_base_s: float = 0.5
    """Longest wait before the first reconnect (full jitter: uniform in 0..this); doubles per failure."""
    reconnect_max_s: float = 60.0
    """Longest wait between two reconnect attempts."""
    max_connections_per_5m: int = 300
    """Connection attempts allowed per 5 minutes per IP (Binance: 300)."""
    streams_per_connection: int = Field(1024, ge=1, le=1024)
    """Streams one connection carries (Binance: at most 1024); more symbols open more connections."""
    max_messages_per_s: float = Field(5.0, gt=0)
    """Messages we may send per second per connection (Binance: 5, pings and pongs included)."""
    gap_grace_s: float = 0.5
    """How long a hole in a symbol's trade ids may wait for late trades before REST repairs it."""
    gap_retry_s: float = 2.0
    """Pause before asking /historicalTrades again for ids it did not return yet."""
    gap_max_attempts: int = 5
    """Attempts after which ids /historicalTrades still lacks are recorded as known gaps."""

    @model_validator(mode="after")
    def _rotation_before_the_cut(self) -> LiveTradesSettings:
        if self.rotate_margin_s >= self.connection_lifetime_s:
            raise ValueError(f"LIVE_ROTATE_MARGIN_S ({self.rotate_margin_s}) must be shorter "
                             f"than LIVE_CONNECTION_LIFETIME_S ({self.connection_lifetime_s})")
        return self

    @property
    def streams_url(self) -> str:
        return self.ws_url.rstrip("/") + "/stream"


class SimulatorSettings(BaseSettings):
    """The local exchange simulator."""

    model_config = _section("SIMULATOR_")

    host: str = "127.0.0.1"
    """Interface the simulator listens on."""
    port: int = 8765
    """Port the simulator listens on."""
    seed: int = 42
    """Seed of the deterministic market."""
    extra_symbols: int = 0
    """Synthetic symbols (SIM001USDT...) served besides the built-in ones, e.g. for benchmarks."""
    trade_rate_scale: float = 1.0
    """Multiplies every symbol's trades per second."""
    weight_limit: int = 6000
    """Request weight per minute before the simulator answers 429 (then 418)."""
    ws_port: int = 8766
    """Port of the simulator's WebSocket streams (/ws/<stream>, /stream?streams=...)."""
    ws_lifetime_s: float = 86400.0
    """The simulator closes each WebSocket connection after this long (Binance: 24 h)."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"


class MetricsSettings(BaseSettings):
    """The project's own Prometheus endpoints (prometheus_client); a port of 0 turns one off."""

    model_config = _section("METRICS_")

    host: str = "127.0.0.1"
    """Interface the extractor, the stream job and the exporter serve /metrics on."""
    extractor_port: int = 9461
    """/metrics of a running extractor (not of `--once` runs): requests, weight, rows, last loads."""
    stream_port: int = 9462
    """/metrics of the stream job's driver: records, rows by table and op, batches, dead letters."""
    exporter_port: int = 9463
    """/metrics of `binance-cdc exporter`: replication slot, stream consumer lag, last batch."""


class PrometheusSettings(BaseSettings):
    """The Prometheus server of the local stack and its alert thresholds."""

    model_config = _section("PROMETHEUS_")

    host: str = "127.0.0.1"
    """Interface the Prometheus server listens on."""
    port: int = 9090
    """Port of the Prometheus web UI and HTTP API."""
    binary: str = "prometheus"
    """The Prometheus executable (Debian's `prometheus` package)."""
    retention: str = "2d"
    """How long Prometheus keeps samples (--storage.tsdb.retention.time)."""
    scrape_interval_s: float = 15.0
    """Seconds between two scrapes of every target."""
    evaluation_interval_s: float = 15.0
    """Seconds between two evaluations of the alert rules."""
    alert_stream_lag_s: float = 120.0
    """StreamBehind fires when changes wait on Kafka and the newest applied one is older than this."""
    alert_extract_missed_intervals: float = 3.0
    """ExtractorNotLoading fires after this many poll intervals without a successful load."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class VerifySettings(BaseSettings):
    """How `verify` reads the tables it compares."""

    model_config = _section("VERIFY_")

    concurrency: int = Field(default=4, ge=1)
    """Cassandra token ranges `verify` reads at once."""
    page_size: int = Field(default=5000, ge=100)
    """Rows per Cassandra page `verify` asks for."""
    memory_rows: int = Field(default=100_000, ge=1000)
    """Most rows of differing buckets `verify` holds in memory at once; the rest wait on disk."""


class Settings(BaseModel):
    """All sections; build with :func:`load_settings`."""

    stack: StackSettings = Field(default_factory=StackSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    connect: ConnectSettings = Field(default_factory=ConnectSettings)
    cassandra: CassandraSettings = Field(default_factory=CassandraSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    binance: BinanceSettings = Field(default_factory=BinanceSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    live: LiveTradesSettings = Field(default_factory=LiveTradesSettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)


SECTIONS: dict[str, type[BaseSettings]] = {
    name: field.default_factory  # type: ignore[misc]
    for name, field in Settings.model_fields.items()
}


def load_settings() -> Settings:
    """Read every section from the environment (and .env); raise ConfigError on bad values."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from exc
    return with_generated_passwords(settings)


def with_generated_passwords(settings: Settings) -> Settings:
    """``settings`` with every password nobody set taken from (or generated into) the secrets file."""
    from binance_cdc import passwords

    unset = {(section, field): env_var_for(section, field)
             for section, field in passwords.GENERATED
             if field not in getattr(settings, section).model_fields_set}
    if not unset:
        return settings
    values = passwords.load_or_create(settings.stack.secrets_file, list(unset.values()))
    updates: dict[str, dict[str, SecretStr]] = {}
    for (section, field), name in unset.items():
        updates.setdefault(section, {})[field] = SecretStr(values[name])
    return settings.model_copy(update={
        section: getattr(settings, section).model_copy(update=fields)
        for section, fields in updates.items()})


@functools.cache
def env_var_for(section: str, field_name: str) -> str:
    """The environment variable that sets ``section.field_name`` (for error messages)."""
    cls = SECTIONS[section]
    field = cls.model_fields[field_name]
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return f"{cls.model_config.get('env_prefix', '')}{field_name}".upper()


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, for the README."""
    import ast
    import inspect

    rows: list[tuple[str, str, str]] = []
    for section, cls in SECTIONS.items():
        docs = _attribute_docstrings(ast.parse(inspect.getsource(cls)))
        for name, field in cls.model_fields.items():
            default = field.default
            if isinstance(default, SecretStr):
                default = "(secret)" if default.get_secret_value() else "(generated)"
            elif isinstance(default, Path):
                default = str(default).replace(str(PROJECT_ROOT), ".")
            elif isinstance(default, list):
                default = ",".join(default)
            rows.append((env_var_for(section, name), str(default), docs.get(name, "")))
    return rows


def settings_markdown() -> list[str]:
    """The README's settings table, line by line (``binance-cdc settings --markdown``)."""
    return ["| variable | default | meaning |", "|---|---|---|"] + [
        f"| `{var}` | `{default}` | {doc} |" for var, default, doc in settings_table()]


def _attribute_docstrings(module: ast.Module) -> dict[str, str]:
    import ast

    cls_node = module.body[0]
    assert isinstance(cls_node, ast.ClassDef)
    docs: dict[str, str] = {}
    body = cls_node.body
    for node, following in itertools.pairwise(body):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = following.value.value.strip()
    return docs

