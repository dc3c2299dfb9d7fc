"""Which Spark Cassandra Connector session the stream's writes use: a fresh one after an outage.

The connector keeps one Java driver session per connection configuration (its
session cache is keyed by that configuration) and refreshes the session's schema
before every write. In the Java driver 4.18 a schema refresh that fails because
the control connection is gone (Cassandra restarting) leaves the session's
refresh queue blocked for good: every later write of that session waits forever,
although Cassandra is back (scylladb/java-driver#841 describes the same code).
The drill's kill -9 of Cassandra hung the stream exactly so.

So after an outage the writes move to a new connection configuration: it differs
only in ``timeoutBeforeCloseMS`` (how long closing a session waits for its
in-flight requests, immaterial here), by a millisecond per generation. The
connector opens a new session for it, on the driver and on every executor, and
closes the old one once nothing uses it.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_OPTION = "spark.cassandra.connection.timeoutBeforeCloseMS"
CLOSE_TIMEOUT_MS = 15_000  # the connector's default


class ConnectorSessions:
    """The generation of connector sessions that new writes use (shared by all queries)."""

    def __init__(self) -> None:
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self._generation

    def options(self) -> dict[str, str]:
        """Writer options that select this generation's session."""
        return {CLOSE_TIMEOUT_OPTION: str(CLOSE_TIMEOUT_MS + self._generation)}

    def renew(self, seen: int, reason: str) -> None:
        """Move to a new session unless another query already did since generation ``seen``."""
        with self._lock:
            if self._generation != seen:
                return
            self._generation += 1
            log.warning("Cassandra outage (%s): later writes open a new connector session "
                        "(generation %d)", reason, self._generation)
