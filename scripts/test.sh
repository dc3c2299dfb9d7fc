#!/usr/bin/env bash
# The test command: set up, lint (fails fast, before any service starts), start the
# stack, run every test against the real services, and stop the stack again if this
# script started it (even on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

bash scripts/setup.sh
bash scripts/lint.sh

started_here=0
if ! "$PYTHON" -m binance_cdc stack status >/dev/null 2>&1; then
  started_here=1
fi
cleanup() {
  if [ "$started_here" = 1 ]; then "$PYTHON" -m binance_cdc stack down || true; fi
}
trap cleanup EXIT
echo "==> stack up"
"$PYTHON" -m binance_cdc stack up

echo "==> pytest"
"$PYTHON" -m pytest tests "$@"
