"""A local exchange that serves Binance's public REST paths over a deterministic market.

``market.py`` is the seeded model (trades, order book, candles), ``server.py``
the stdlib HTTP front with real weights and rate limiting, ``faults.py`` the
switchable failures tests inject. Run it with ``binance-cdc simulator`` or in a
thread with :class:`~binance_cdc.binance.simulator.server.SimulatorServer`.
"""
