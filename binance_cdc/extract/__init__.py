"""The extractor: Binance REST -> the five tables of the `binance` schema.

Each dataset module fetches every symbol first, parses everything, and only then
writes in one transaction, so bad input or a failed call never leaves half a
dataset behind. ``runner.py`` schedules the datasets and logs each run.
"""
