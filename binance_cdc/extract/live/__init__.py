"""The live trade writer: Binance's ``<symbol>@trade`` streams into recent_trades.

``tracker.py`` is the pure per-symbol bookkeeping (which ids are complete, which
holes need repair), ``sink.py`` commits batches with the progress, ``repair.py``
fetches holes from /historicalTrades, ``runner.py`` wires them to the feeds.
"""
