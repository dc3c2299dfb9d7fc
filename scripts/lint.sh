#!/usr/bin/env bash
# The rulebook: ruff and mypy, configured in pyproject.toml. Needs no service, so
# `make test` runs it before starting the stack. Installs the pinned tools if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

tools=$(grep -E '^(ruff|mypy|types-[A-Za-z]+)==' requirements.txt)
if ! "$PYTHON" -c "import importlib.metadata as m, sys
sys.exit(any(m.version(n) != v for n, v in (t.split('==') for t in sys.argv[1:])))" $tools 2>/dev/null; then
  echo "==> pip install $(echo $tools)"
  "$PYTHON" -m pip install -q --disable-pip-version-check $tools
fi
echo "==> ruff check"
"$PYTHON" -m ruff check .
echo "==> mypy"
"$PYTHON" -m mypy
