"""The live writer's settings: defaults are Binance's documented stream limits; nonsense is refused."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from binance_cdc.errors import ConfigError
from binance_cdc.settings import LiveTradesSettings, load_settings


def test_defaults_are_the_documented_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LIVE_"):
            monkeypatch.delenv(name)
    live = LiveTradesSettings()
    assert live.connection_lifetime_s == 24 * 3600  # "only valid for 24 hours"
    assert live.ping_interval_s == 20 and live.ping_timeout_s == 60  # ping 20 s, pong within 1 min
    assert live.max_messages_per_s == 5  # "5 incoming messages per second"
    assert live.streams_per_connection == 1024  # "a maximum of 1024 streams"
    assert live.max_connections_per_5m == 300  # "300 connections per attempt every 5 minutes"
    assert live.flush_interval_s == 0.25
    assert live.streams_url == "wss://stream.binance.com:9443/stream"


@pytest.mark.parametrize("env, problem", [
    pytest.param({"LIVE_STREAMS_PER_CONNECTION": "2000"}, "less than or equal to 1024",
                 id="more-streams-than-binance-allows"),
    pytest.param({"LIVE_MAX_MESSAGES_PER_S": "0"}, "greater than 0", id="no-messages"),
    pytest.param({"LIVE_ROTATE_MARGIN_S": "100", "LIVE_CONNECTION_LIFETIME_S": "50"},
                 "must be shorter than LIVE_CONNECTION_LIFETIME_S", id="rotation-after-the-cut"),
])
def test_impossible_values_are_a_config_error(monkeypatch: pytest.MonkeyPatch, env, problem):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        LiveTradesSettings()
    with pytest.raises(ConfigError, match=problem):
        load_settings()
