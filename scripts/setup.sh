#!/usr/bin/env bash
# Install what a fresh machine lacks: Debian packages (PostgreSQL 15, Java 17,
# Maven), the Python requirements and this package, and the service jars from
# Maven Central. Idempotent: a second run installs and downloads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql-15)
command -v psql >/dev/null || need_apt+=(postgresql-client-15)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v setpriv >/dev/null || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian's package starts its own cluster on 5432; the project runs its own.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name port status _; do
      if [ "$status" = online ] && [ "$port" = 5432 ]; then $SUDO pg_ctlcluster "$ver" "$name" stop; fi
    done
  fi
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import binance_cdc, pyspark, confluent_kafka, cassandra, psycopg" 2>/dev/null \
   || ! cmp -s requirements.txt .stack/requirements.installed 2>/dev/null; then
  echo "==> pip install -r requirements.txt"
  "$PYTHON" -m pip install -q --disable-pip-version-check -r requirements.txt
  "$PYTHON" -m pip install -q --disable-pip-version-check --no-deps -e .
  mkdir -p .stack && cp requirements.txt .stack/requirements.installed
fi

echo "==> service jars (Maven Central)"
"$PYTHON" -m binance_cdc stack jars
