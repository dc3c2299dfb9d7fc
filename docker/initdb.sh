#!/bin/sh
# Runs once in the postgres image's first start: the same sql/ files as
# `binance-cdc stack up`, with the same psql variables.
set -e
psql() { command psql -X -q -v ON_ERROR_STOP=1 --username postgres \
  -v app_user="$APP_USER" -v app_password="$APP_PASSWORD" \
  -v debezium_user="$DEBEZIUM_USER" -v debezium_password="$DEBEZIUM_PASSWORD" \
  -v database="$APP_DATABASE" -v schema=binance "$@"; }
psql -d postgres -f /binance-cdc/sql/01_roles.sql
for f in /binance-cdc/sql/0[2-9]_*.sql; do
  psql --username "$APP_USER" -d "$APP_DATABASE" -f "$f"
done
