#!/usr/bin/env bash
# The demo: set up a fresh machine, then run the whole pipeline on the exchange
# simulator (pass --live for the real Binance API). Leaves it running;
# `make stop` stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
bash scripts/setup.sh
exec "$PYTHON" -m binance_cdc demo "$@"
