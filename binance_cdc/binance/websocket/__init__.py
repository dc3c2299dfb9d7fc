"""Binance's WebSocket market streams: message decoding and connection rules as pure code
(``messages.py``, ``policy.py``) apart from the connection loop (``feed.py``)."""
