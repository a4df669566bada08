#!/usr/bin/env bash
# Entrypoint of the postgres-replica service. On the first start (an empty volume) it clones
# the primary with pg_basebackup -R, which also writes standby.signal, primary_conninfo and
# primary_slot_name; every start then runs its arguments (`postgres -c ...`) as a hot standby
# that streams from the primary.
#
# To clone again (e.g. after the primary's volume was recreated, which makes the two clusters
# unrelated): remove the replica's volume.
set -Eeuo pipefail

: "${PGDATA:?PGDATA is not set}"
: "${PRIMARY_HOST:?PRIMARY_HOST is not set}"
: "${REPLICATION_USER:?REPLICATION_USER is not set}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD is not set}"
: "${REPLICATION_SLOT:?REPLICATION_SLOT is not set}"
PRIMARY_PORT=${PRIMARY_PORT:-5432}
[ $# -gt 0 ] || set -- postgres

# As the image's own entrypoint does: give the volume to postgres, then drop root.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$(dirname "$PGDATA")"
  chown postgres:postgres "$(dirname "$PGDATA")"
  exec gosu postgres bash "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # Cloned beside PGDATA and moved into place once complete, so an interrupted clone is
  # started over on the next start rather than run as a half-copied cluster.
  partial="$PGDATA.partial"
  rm -rf -- "$partial" "$PGDATA"
  echo "replica: waiting for the primary at $PRIMARY_HOST:$PRIMARY_PORT"
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; do sleep 1; done
  echo "replica: cloning the primary with pg_basebackup"
  # The password ends up in primary_conninfo (postgresql.auto.conf, inside the volume).
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup \
    --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" --no-password \
    --pgdata="$partial" --write-recovery-conf --wal-method=stream \
    --slot="$REPLICATION_SLOT" --checkpoint=fast
  mv -- "$partial" "$PGDATA"
  echo "replica: cloned; starting as a hot standby"
fi

exec "$@"
