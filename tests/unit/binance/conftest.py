from __future__ import annotations

from collections.abc import Iterator

import pytest

from binance_cdc.binance.simulator.market import ManualClock, Market
from binance_cdc.binance.simulator.server import SimulatorServer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatorServer]:
    """An in-process simulator on a free port, on a clock the test moves."""
    server = SimulatorServer(Market(7, clock=clock, history_minutes=60)).start()
    try:
        yield server
    finally:
        server.stop()
