#!/usr/bin/env bash
# Run by the postgres image once, on the primary's first start (empty data directory), as the
# postgres user while a temporary server listens on the Unix socket only. Creates what the
# replica clones from: a replication role, a physical slot, and the pg_hba.conf line that
# admits the role's replication connections.
#
# The image executes this file when it is executable and sources it otherwise, so it sets no
# shell options and never calls `exit`.

: "${REPLICATION_USER:?REPLICATION_USER is not set}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD is not set}"
: "${REPLICATION_SLOT:?REPLICATION_SLOT is not set}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="$REPLICATION_USER" -v password="$REPLICATION_PASSWORD" -v slot="$REPLICATION_SLOT" <<'SQL'
CREATE ROLE :"role" WITH REPLICATION LOGIN PASSWORD :'password';
-- The slot keeps the WAL the standby has not received yet (bounded by max_slot_wal_keep_size),
-- so a replica that was down catches up rather than having to be cloned again.
SELECT pg_create_physical_replication_slot(:'slot');
SQL

# The image's own rule (`host all all all scram-sha-256`) does not cover replication
# connections: `all` in the database column excludes them.
printf 'host replication %s all scram-sha-256\n' "$REPLICATION_USER" >>"$PGDATA/pg_hba.conf"
