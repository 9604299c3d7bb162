#!/usr/bin/env bash
# Runs once, from /docker-entrypoint-initdb.d, when the official postgres image initialises an
# empty primary. Prepares streaming replication for this primary's replica service:
#   - a REPLICATION login role (password from REPLICATION_PASSWORD),
#   - a physical replication slot "replica", so the primary keeps the WAL the replica has not
#     received yet (bounded by max_slot_wal_keep_size in the compose command),
#   - a pg_hba rule letting that role open replication connections (the image's own
#     "host all all all" rule does not cover the replication pseudo-database).
# The application schema is not created here: every app instance applies the migrations to each
# reachable primary when it boots, and the replica receives them through replication.
set -euo pipefail

: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"
REPLICATION_USER="${REPLICATION_USER:-replicator}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v repl_user="$REPLICATION_USER" -v repl_password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
SELECT pg_create_physical_replication_slot('replica');
SQL

echo "host replication ${REPLICATION_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
