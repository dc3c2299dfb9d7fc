"""The Binance REST API: client, retry/rate-limit policy, payload parsing, and a local simulator."""
