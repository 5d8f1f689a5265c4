#!/bin/sh
# One-shot of deploy/compose.yaml: creates Temporal's databases on PostgreSQL and applies the
# schema shipped with the server version (idempotent: an existing database is kept, and
# update-schema only applies versions newer than the database's). Runs in the
# temporalio/admin-tools image of the same version as temporalio/server.
#   POSTGRES_SEEDS (host), DB_PORT (default 5432), POSTGRES_USER, SQL_PASSWORD (read by
#   temporal-sql-tool from the environment, so it is never on a command line)
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"
}

attempt=1
until nc -z -w 5 "$POSTGRES_SEEDS" "$PORT"; do
  if [ "$attempt" -ge 60 ]; then
    echo "PostgreSQL at $POSTGRES_SEEDS:$PORT does not accept connections" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

for db in temporal temporal_visibility; do
  if out="$(sql_tool --db "$db" create 2>&1)"; then
    echo "created database $db"
  else
    case "$out" in
      *"already exists"*) echo "database $db already exists" ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
done
sql_tool --db temporal setup-schema -v 0.0
sql_tool --db temporal update-schema -d "$SCHEMA_DIR/temporal/versioned"
sql_tool --db temporal_visibility setup-schema -v 0.0
sql_tool --db temporal_visibility update-schema -d "$SCHEMA_DIR/visibility/versioned"
echo "Temporal schema is up to date"
