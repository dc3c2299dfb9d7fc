#!/usr/bin/env bash
# Install what a fresh machine lacks: Debian packages (PostgreSQL 15, Java 17,
# Maven, Prometheus), the Python requirements and this package, and the service jars from
# Maven Central. Idempotent: a second run installs and downloads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql-15)
command -v psql >/dev/null || need_apt+=(postgresql-client-15)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v setpriv >/dev/null || need_apt+=(util-linux)
need_prometheus=0
command -v prometheus >/dev/null && command -v promtool >/dev/null || need_prometheus=1
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#need_apt[@]} -gt 0 ] || [ "$need_prometheus" = 1 ]; then
  $SUDO apt-get update -qq
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian's package starts its own cluster on 5432; the project runs its own.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name port status _; do
      if [ "$status" = online ] && [ "$port" = 5432 ]; then $SUDO pg_ctlcluster "$ver" "$name" stop; fi
    done
  fi
fi
if [ "$need_prometheus" = 1 ]; then
  echo "==> apt-get install prometheus"
  # No recommends: they add node-exporter, one more service on 0.0.0.0.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    prometheus >/dev/null
  # Debian's own service would take 0.0.0.0:9090; `binance-cdc stack up` runs the project's.
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    $SUDO update-rc.d prometheus disable >/dev/null 2>&1 || true
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
