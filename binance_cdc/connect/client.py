"""A small client for the Kafka Connect REST API.

Every HTTP or transport failure becomes a :class:`ConnectError` here, with the
worker's own message, so callers never see a requests exception.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from binance_cdc.errors import ConnectError

log = logging.getLogger(__name__)


class ConnectClient:
    """GET/PUT/POST/DELETE against one Connect worker (``http://host:port``)."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
              allow: tuple[int, ...] = ()) -> Any:
        try:
            response = self._session.request(method, f"{self.url}{path}", json=json,
                                             params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise ConnectError(f"Kafka Connect at {self.url} is not reachable ({exc}); is it "
                               "running? (`binance-cdc stack status`)", retryable=True) from exc
        if response.status_code in allow:
            return None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ConnectError(f"{method} {path} failed with HTTP {response.status_code}: {message}",
                               retryable=response.status_code >= 500 or response.status_code == 409)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def plugins(self) -> list[dict]:
        return self._call("GET", "/connector-plugins")

    def connectors(self) -> list[str]:
        return self._call("GET", "/connectors")

    def validate(self, connector_class: str, config: dict[str, str]) -> dict:
        short = connector_class.rsplit(".", 1)[-1]
        return self._call("PUT", f"/connector-plugins/{short}/config/validate", json=config)

    def put_config(self, name: str, config: dict[str, str]) -> dict:
        return self._call("PUT", f"/connectors/{name}/config", json=config)

    def get_config(self, name: str) -> dict | None:
        return self._call("GET", f"/connectors/{name}/config", allow=(404,))

    def status(self, name: str) -> dict | None:
        """The connector's status, or None if no connector has that name."""
        return self._call("GET", f"/connectors/{name}/status", allow=(404,))

    def restart(self, name: str) -> None:
        self._call("POST", f"/connectors/{name}/restart",
                   params={"includeTasks": "true", "onlyFailed": "false"})

    def pause(self, name: str) -> None:
        self._call("PUT", f"/connectors/{name}/pause")

    def resume(self, name: str) -> None:
        self._call("PUT", f"/connectors/{name}/resume")

    def delete(self, name: str) -> None:
        """Delete the connector (nothing happens if it does not exist)."""
        self._call("DELETE", f"/connectors/{name}", allow=(404,))
