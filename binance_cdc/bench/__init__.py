"""Benchmarks behind `binance-cdc bench <what>`; each returns figures, the CLI prints them."""
