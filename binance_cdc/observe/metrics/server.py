"""Serve a registry's /metrics over HTTP, once per process and port."""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

log = logging.getLogger(__name__)

_lock = threading.Lock()
_servers: dict[tuple[str, int], WSGIServer] = {}


def serve(port: int, host: str = "127.0.0.1", registry: CollectorRegistry = REGISTRY,
          *, what: str = "metrics") -> bool:
    """Serve ``registry`` on http://host:port/metrics from a daemon thread.

    Idempotent: a second call for the same address does nothing. Port 0 means
    off. A port that is taken is logged and skipped, never raised: metrics must
    not stop the extractor or the stream. True if the endpoint is served.
    """
    if not port:
        return False
    with _lock:
        if (host, port) in _servers:
            return True
        try:
            server, _ = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            log.warning("cannot serve %s on %s:%s (%s); running without them. Set the port "
                        "(METRICS_*_PORT) to a free one, or 0 to turn them off", what, host, port,
                        exc)
            return False
        _servers[(host, port)] = server
    log.info("%s served on http://%s:%s/metrics", what, host, port)
    return True


def stop_serving(port: int, host: str = "127.0.0.1") -> None:
    """Stop what :func:`serve` started on ``host:port`` (tests and clean shutdowns)."""
    with _lock:
        server = _servers.pop((host, port), None)
    if server is not None:
        server.shutdown()
        server.server_close()
