#!/bin/sh
# Runs once in the postgres image's first start: the same sql/ files as
# `binance-cdc stack up`, with the same psql variables. They reach psql on stdin
# as \set lines, not on its command line, which every user can read (ps): the
# passwords are among them.
set -e
quote() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"; }
variables() {
  for pair in "app_user=$APP_USER" "app_password=$APP_PASSWORD" \
              "debezium_user=$DEBEZIUM_USER" "debezium_password=$DEBEZIUM_PASSWORD" \
              "database=$APP_DATABASE" "schema=binance"; do
    printf '\\set %s %s\n' "${pair%%=*}" "$(quote "${pair#*=}")"
  done
}
run() {  # database, user, file
  { variables; printf '\\i %s\n' "$(quote "$3")"; } |
    command psql -X -q -v ON_ERROR_STOP=1 --username "$2" -d "$1"
}
run postgres postgres /binance-cdc/sql/01_roles.sql
for f in /binance-cdc/sql/0[2-9]_*.sql; do
  run "$APP_DATABASE" "$APP_USER" "$f"
done
