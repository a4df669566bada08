#!/usr/bin/env bash
# Local development/test services for Loupe, run as plain processes (no Docker):
#
#   PostgreSQL 15 primary           postgres://loupe@127.0.0.1:55432/loupe
#   PostgreSQL 15 hot-standby       postgres://loupe@127.0.0.1:55433/loupe  (streaming replica)
#   Redis                           redis://127.0.0.1:56379/0
#   Elasticsearch 8.19.7            http://127.0.0.1:59200
#   S3 (s3proxy 2.6.0)              http://127.0.0.1:59000  (bucket loupe)
#   PgBouncer, transaction pooling  postgres://loupe@127.0.0.1:56432/<any database>  (primary)
#                                   postgres://loupe@127.0.0.1:56433/<any database>  (replica)
#
# Usage: scripts/services.sh {up|status|down|env|browser|primary-stop|primary-start|primary-restart|
#                             replica-stop|replica-start|redis-stop|redis-start|
#                             elasticsearch-stop|elasticsearch-start|s3-stop|s3-start|
#                             pgbouncer-stop|pgbouncer-start|help}
#
#   up             install what is missing, start what is stopped, wait until all are ready
#                  (idempotent; a no-op when everything already runs)
#   status         one line per service; exit status 1 if anything is down
#   down           stop them all
#   env            print `export` lines for DATABASE_URL, DATABASE_REPLICA_URL, REDIS_URL,
#                  ELASTICSEARCH_URL, S3_ENDPOINT_URL and the S3 server's AWS_ACCESS_KEY_ID and
#                  AWS_SECRET_ACCESS_KEY (use: eval "$(scripts/services.sh env)"); not
#                  STORAGE_URL: the app keeps its files local until that names a bucket
#   browser        install Debian's Chromium and ChromeDriver if missing (the browser tests')
#   primary-stop   stop only the primary (its clients' sessions end; the replica waits for it)
#   primary-start  start it again, and wait until a running replica streams from it again
#   primary-restart  primary-stop then primary-start (to exercise the app through a restart)
#   replica-stop   stop only the replica (to exercise the app's fallback to the primary)
#   replica-start  start the replica again
#   redis-stop     stop only Redis (to exercise the broker and sessions through an outage)
#   redis-start    start it again (what was queued comes back from its append-only file)
#   elasticsearch-stop   stop only Elasticsearch (to exercise indexing through an outage)
#   elasticsearch-start  start it again
#   s3-stop        stop only the S3 server (to exercise object storage through an outage)
#   s3-start       start it again (its objects are kept, as files under .local/s3/data)
#   pgbouncer-stop   stop only the two PgBouncers (clients through them lose their connections)
#   pgbouncer-start  start them again
#
# Each *-stop returns once the process has exited and its ports are closed; each start first
# waits (up to PORT_FREE_TIMEOUT seconds) for a port still held to be let go, so that a stop
# then a start in a row never starts a server that dies on bind. As root, the script also
# reserves the services' ports from the kernel's ephemeral range (reserve_ports, below).
#
# All state (data, logs, pid files, the unpacked Elasticsearch, the s3proxy jar) lives under
# <repo>/.local/, which is git-ignored. Everything listens on 127.0.0.1 only.
#
# If DATABASE_URL, DATABASE_REPLICA_URL, REDIS_URL, ELASTICSEARCH_URL and S3_ENDPOINT_URL are all
# set, `up` starts nothing and the app uses those; `env` and `status` honour each of them when it
# is set.
#
# PostgreSQL and Elasticsearch refuse to run as root. When this script runs as root it runs every
# service as the `postgres` system user (or creates a `loupe-svc` system user if there is no
# `postgres` user) and gives that user the directories under .local/. When it runs as an ordinary
# user, the services run as that user.
#
# Configuration files of the services are rewritten at every start (and, for PostgreSQL, by `up`
# when running, followed by a reload). Settings that need a restart: run `down` then `up`. To start from scratch: `down`, then `rm -rf .local/postgres` (or
# `.local/elasticsearch/data`, ...), then `up`.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
LOCAL_DIR="$REPO_ROOT/.local"

HOST=127.0.0.1
PG_PRIMARY_PORT=55432
PG_REPLICA_PORT=55433
REDIS_PORT=56379
ES_HTTP_PORT=59200
ES_TRANSPORT_PORT=59300
S3_PORT=59000
PGB_PRIMARY_PORT=56432
PGB_REPLICA_PORT=56433

PG_ROLE=loupe
PG_DB=loupe
PG_BIN=/usr/lib/postgresql/15/bin
PG_SLOT=loupe_replica

ES_VERSION=8.19.7
ES_MAVEN_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
ES_JAVA_OPTIONS="-Xms1g -Xmx1g"
ES_CLUSTER=loupe-dev

S3PROXY_VERSION=2.6.0
S3PROXY_MAVEN_ARTIFACT="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies"
S3PROXY_JAVA_OPTIONS="-Xmx256m"
# The local server's only bucket, and its keys (local use only: it listens on 127.0.0.1).
S3_BUCKET=loupe
S3_REGION=us-east-1
S3_IDENTITY=loupe-local
S3_CREDENTIAL=loupe-local-secret
# SigV4 signs the body's SHA-256; s3proxy wants it sent (this one is an empty body's).
S3_EMPTY_BODY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# Bounded waits, in seconds.
PG_START_TIMEOUT=60
PG_STOP_TIMEOUT=60
REPLICA_STREAM_TIMEOUT=60
REDIS_START_TIMEOUT=20
REDIS_STOP_TIMEOUT=20
ES_START_TIMEOUT=240
ES_STOP_TIMEOUT=60
S3_START_TIMEOUT=60
S3_STOP_TIMEOUT=30
PGB_START_TIMEOUT=20
PGB_STOP_TIMEOUT=20
PORT_FREE_TIMEOUT=30 # a start waits this long for a port an exiting server still holds
LOCK_TIMEOUT=900

LOG_DIR="$LOCAL_DIR/log"
RUN_DIR="$LOCAL_DIR/run"
SVC_HOME="$LOCAL_DIR/home"
LOCK_FILE="$LOCAL_DIR/.services.lock"
PG_DIR="$LOCAL_DIR/postgres"
PG_PRIMARY_DATA="$PG_DIR/primary"
PG_REPLICA_DATA="$PG_DIR/replica"
PG_PRIMARY_LOG="$LOG_DIR/postgres-primary.log"
PG_REPLICA_LOG="$LOG_DIR/postgres-replica.log"
REDIS_DIR="$LOCAL_DIR/redis"
REDIS_PIDFILE="$RUN_DIR/redis.pid"
REDIS_LOG="$LOG_DIR/redis.log"
ES_BASE="$LOCAL_DIR/elasticsearch"
ES_HOME="$ES_BASE/elasticsearch-$ES_VERSION"
ES_DATA="$ES_BASE/data"
ES_LOGS="$ES_BASE/logs"
ES_TMP="$ES_BASE/tmp"
ES_LOG="$ES_LOGS/$ES_CLUSTER.log"
ES_PIDFILE="$RUN_DIR/elasticsearch.pid"
ES_START_LOG="$LOG_DIR/elasticsearch-start.log"
ES_INSTALLED_MARKER="$ES_BASE/.installed-$ES_VERSION"
S3_DIR="$LOCAL_DIR/s3"
S3_DATA="$S3_DIR/data"
S3_JAR="$S3_DIR/s3proxy-$S3PROXY_VERSION.jar"
S3_CONF="$S3_DIR/s3proxy.conf"
S3_PIDFILE="$RUN_DIR/s3proxy.pid"
S3_LOG="$LOG_DIR/s3proxy.log"
PGB_DIR="$LOCAL_DIR/pgbouncer"
PGB_BIN=/usr/sbin/pgbouncer

LOCAL_DATABASE_URL="postgres://$PG_ROLE@$HOST:$PG_PRIMARY_PORT/$PG_DB"
LOCAL_DATABASE_REPLICA_URL="postgres://$PG_ROLE@$HOST:$PG_REPLICA_PORT/$PG_DB"
LOCAL_REDIS_URL="redis://$HOST:$REDIS_PORT/0"
LOCAL_ELASTICSEARCH_URL="http://$HOST:$ES_HTTP_PORT"
LOCAL_S3_ENDPOINT_URL="http://$HOST:$S3_PORT"
PRIMARY_ADMIN_URL="postgres://$PG_ROLE@$HOST:$PG_PRIMARY_PORT/postgres"

PSQL="$PG_BIN/psql"
[[ -x $PSQL ]] || PSQL=psql

IS_ROOT=0
if [[ $EUID -eq 0 ]]; then IS_ROOT=1; fi
SVC_USER=""
SVC=()            # command prefix that runs a command as the service user
PRIMARY_FRESH=0   # set when `up` has just initialised the primary

# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------

say() { printf '[services] %s\n' "$*"; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}

# log_tail FILE [LINES]: print the end of a service's log to stderr.
log_tail() {
  local file=$1 lines=${2:-40}
  if [[ -r $file ]]; then
    printf '[services] ---- last %s lines of %s ----\n' "$lines" "$file" >&2
    tail -n "$lines" -- "$file" >&2 || true
    printf '[services] ---- end of %s ----\n' "$file" >&2
  else
    printf '[services] (no log file at %s)\n' "$file" >&2
  fi
}

# die_with_log MESSAGE LOGFILE...: show the logs' tails, then fail.
die_with_log() {
  local msg=$1 file
  shift
  for file in "$@"; do log_tail "$file"; done
  die "$msg"
}

now() { printf '%s' "$EPOCHREALTIME"; }
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

pid_from_file() {
  local pid=""
  if [[ -r $1 ]]; then read -r pid <"$1" || true; fi
  printf '%s' "${pid//[!0-9]/}"
}

# proc_matches PID PATTERN: the process is alive and its command line contains PATTERN
# (guards against a stale pid file whose pid was reused).
proc_matches() {
  local pid=$1 pattern=$2
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -qaF -- "$pattern" "/proc/$pid/cmdline" 2>/dev/null
}

# wait_pid_gone PID SECONDS
wait_pid_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

port_open() { (: <>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# The states in which a socket on a port keeps a server from binding it: listening, or a
# connection a process still holds. Those the kernel finishes alone (TIME-WAIT, FIN-WAIT, ...)
# are left out: once a server exits, its own connections linger in them for up to a minute,
# and they do not stop the next server from binding (every one here sets SO_REUSEADDR).
HOLDING_STATES=(state listening state established state syn-sent state syn-recv state close-wait)

# port_held PORT: a socket holds PORT (ss sees a listener bound before it accepts, and an
# outgoing connection given PORT as its source port); without ss, a connection accepted.
port_held() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Htan "${HOLDING_STATES[@]}" "sport = :$1" 2>/dev/null) ]]
  else
    port_open "$1"
  fi
}

# port_holder PORT: who holds PORT, as ss names the process ("java",pid=123,fd=4), and how:
# listening, or a connection to somewhere else.
port_holder() {
  local who=""
  if command -v ss >/dev/null 2>&1; then
    who=$(ss -Htanp "${HOLDING_STATES[@]}" "sport = :$1" 2>/dev/null | awk '
      {
        users = "a process not ours to see"
        if (match($0, /users:\(\(.*\)\)/)) users = substr($0, RSTART + 8, RLENGTH - 10)
        if ($1 == "LISTEN") { print users " (listening)"; found = 1; exit }
        if (first == "") first = users " (" $1 " to " $5 ", an outgoing connection given this port as its source)"
      }
      END { if (!found && first != "") print first }')
  fi
  printf '%s' "${who:-another process}"
}

# The services' ports lie inside Linux's usual range of ephemeral ports (32768-60999).
SERVICE_PORTS=("$PG_PRIMARY_PORT" "$PG_REPLICA_PORT" "$REDIS_PORT" "$ES_HTTP_PORT" "$ES_TRANSPORT_PORT" "$S3_PORT"
  "$PGB_PRIMARY_PORT" "$PGB_REPLICA_PORT")
RESERVED_PORTS=/proc/sys/net/ipv4/ip_local_reserved_ports

# port_reserved PORT LIST: PORT is in LIST, as ip_local_reserved_ports writes it (8080,9000-9010).
port_reserved() {
  local port=$1 item items=()
  IFS=, read -ra items <<<"$2"
  for item in "${items[@]}"; do
    if ((port >= ${item%-*} && port <= ${item#*-})); then return 0; fi
  done
  return 1
}

# reserve_ports: keep the kernel from giving the services' ports to outgoing connections as
# their source port. One that takes a port while its service is stopped, even closed since
# (a minute in TIME-WAIT), makes the next start fail to bind it however long the stop waited
# (Elasticsearch's BindTransportException). As root only, until the next boot; an ordinary
# user's start waits for such a connection while it is open, and fails naming it (one closed
# already cannot be told from the server's own in TIME-WAIT).
reserve_ports() {
  ((IS_ROOT)) && [[ -w $RESERVED_PORTS ]] || return 0
  local current port missing=()
  current=$(<"$RESERVED_PORTS")
  for port in "${SERVICE_PORTS[@]}"; do
    port_reserved "$port" "$current" || missing+=("$port")
  done
  ((${#missing[@]})) || return 0
  if (IFS=, && printf '%s\n' "${current:+$current,}${missing[*]}" >"$RESERVED_PORTS") 2>/dev/null; then
    say "reserved ports ${missing[*]} from the kernel's ephemeral range (net.ipv4.ip_local_reserved_ports)"
  else
    warn "could not reserve ports ${missing[*]} (net.ipv4.ip_local_reserved_ports); a start may find one taken"
  fi
}

# await_ports_free NAME SECONDS WHAT PORT...: until no socket holds any of the ports, or fail
# saying WHAT and which process still holds which port. A server that has just exited,
# or is still shutting down, lets go of its ports a moment later; a start in that moment
# would die on bind.
await_ports_free() {
  local name=$1 seconds=$2 what=$3 deadline port busy
  shift 3
  deadline=$((SECONDS + seconds))
  while :; do
    busy=""
    for port in "$@"; do
      if port_held "$port"; then busy+="${busy:+, }$port"; fi
    done
    [[ -z $busy ]] && return 0
    if ((SECONDS >= deadline)); then
      busy=""
      for port in "$@"; do
        if port_held "$port"; then busy+="${busy:+, }$port (held by $(port_holder "$port"))"; fi
      done
      die "$name: $what after ${seconds}s: port $busy"
    fi
    sleep 0.2
  done
}

# Hide a password in a URL before printing it.
mask_url() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

database_url() { printf '%s' "${DATABASE_URL:-$LOCAL_DATABASE_URL}"; }
database_replica_url() { printf '%s' "${DATABASE_REPLICA_URL:-$LOCAL_DATABASE_REPLICA_URL}"; }
redis_url() { printf '%s' "${REDIS_URL:-$LOCAL_REDIS_URL}"; }
elasticsearch_url() { local u=${ELASTICSEARCH_URL:-$LOCAL_ELASTICSEARCH_URL}; printf '%s' "${u%/}"; }
s3_endpoint_url() { local u=${S3_ENDPOINT_URL:-$LOCAL_S3_ENDPOINT_URL}; printf '%s' "${u%/}"; }

external_all_set() {
  [[ -n ${DATABASE_URL:-} && -n ${DATABASE_REPLICA_URL:-} && -n ${REDIS_URL:-} && -n ${ELASTICSEARCH_URL:-} &&
    -n ${S3_ENDPOINT_URL:-} ]]
}

external_any_set() {
  [[ -n ${DATABASE_URL:-} || -n ${DATABASE_REPLICA_URL:-} || -n ${REDIS_URL:-} || -n ${ELASTICSEARCH_URL:-} ||
    -n ${S3_ENDPOINT_URL:-} ]]
}

# pg_q URL SQL: run one query over TCP, unaligned tuples-only output.
pg_q() {
  PGCONNECT_TIMEOUT=3 "$PSQL" "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"
}

pg_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$1" -t 2 >/dev/null 2>&1; }

redis_ping() {
  local out
  out=$(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
  [[ $out == PONG ]]
}

# es_health URL: print the cluster health status (green/yellow/red), empty if unreachable.
es_health() {
  local body
  body=$(curl -s --max-time 3 "$1/_cluster/health" 2>/dev/null) || return 0
  sed -nE 's/.*"status":"([a-z]+)".*/\1/p' <<<"$body"
}

# s3_http_code URL: the HTTP status an S3 endpoint answers an anonymous request with (any
# means it is up); 000 if unreachable.
s3_http_code() { curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$1/" 2>/dev/null || true; }

# s3_signed CURL-ARGS...: a request to the local S3 server, signed with its keys (SigV4).
s3_signed() {
  curl -s --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_IDENTITY:$S3_CREDENTIAL" \
    -H "x-amz-content-sha256: $S3_EMPTY_BODY_SHA256" "$@"
}

# ----------------------------------------------------------------------------------------------
# Service user, directories, packages, lock
# ----------------------------------------------------------------------------------------------

setup_service_user() {
  if ((IS_ROOT)); then
    if id -u postgres >/dev/null 2>&1; then
      SVC_USER=postgres
    else
      SVC_USER=loupe-svc
      if ! id -u "$SVC_USER" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
          --shell /usr/sbin/nologin "$SVC_USER" || die "could not create system user $SVC_USER"
        say "created system user $SVC_USER to run the services"
      fi
    fi
    SVC=(runuser -u "$SVC_USER" -- env "HOME=$SVC_HOME")
  else
    SVC_USER=$(id -un)
    SVC=(env "HOME=$SVC_HOME")
  fi
}

# as_svc CMD...: run a command as the service user, from / (the caller's cwd may be unreadable).
as_svc() { (cd / && "${SVC[@]}" "$@"); }

# daemon_run CMD...: run a command that leaves a daemon behind, with every file descriptor above
# 2 closed, so that the daemon holds neither our lock (fd 9) nor pipes of whoever called us.
daemon_run() {
  (
    local fd n
    for fd in /proc/"$BASHPID"/fd/*; do
      n=${fd##*/}
      if ((n > 2)); then exec {n}>&-; fi
    done
    cd / && exec "$@"
  )
}

# Take a per-checkout lock so that two `up`/`down` runs never race. Daemons are started through
# daemon_run, so that they do not inherit (and hold) the lock.
acquire_lock() {
  mkdir -p -- "$LOCAL_DIR"
  exec 9>>"$LOCK_FILE"
  if ! flock -n 9; then
    say "another scripts/services.sh run holds $LOCK_FILE; waiting (up to ${LOCK_TIMEOUT}s)"
    flock -w "$LOCK_TIMEOUT" 9 || die "timed out waiting for $LOCK_FILE"
  fi
}

# The service user must be able to reach .local/ (the repo may sit under /root, mode 700).
ensure_reachable() {
  ((IS_ROOT)) || return 0
  if as_svc test -w "$RUN_DIR"; then return 0; fi
  local dirs=() d=$LOCAL_DIR fixed=()
  while :; do
    dirs=("$d" "${dirs[@]}")
    [[ $d == / ]] && break
    d=$(dirname -- "$d")
  done
  for d in "${dirs[@]}"; do
    if ! as_svc test -x "$d"; then
      chmod o+x -- "$d" || die "user $SVC_USER cannot traverse $d and chmod o+x failed; move the repo or fix its permissions"
      fixed+=("$d")
    fi
  done
  if ((${#fixed[@]})); then
    say "made ${fixed[*]} traversable (chmod o+x) so that user $SVC_USER can reach $LOCAL_DIR"
  fi
  as_svc test -w "$RUN_DIR" || die "user $SVC_USER cannot write $RUN_DIR (check permissions and mount options)"
}

prepare_local() {
  mkdir -p -- "$LOCAL_DIR"
  if [[ ! -e $LOCAL_DIR/.gitignore ]]; then
    printf '# Created by scripts/services.sh: local service data, never commit it.\n*\n' >"$LOCAL_DIR/.gitignore"
  fi
  local d
  for d in "$LOG_DIR" "$RUN_DIR" "$SVC_HOME" "$PG_DIR" "$REDIS_DIR" "$ES_BASE" "$S3_DIR" "$PGB_DIR"; do
    mkdir -p -- "$d"
    if ((IS_ROOT)) && [[ $(stat -c %U -- "$d") != "$SVC_USER" ]]; then
      chown "$SVC_USER:" -- "$d"
    fi
  done
  chmod 700 -- "$PG_DIR"
  ensure_reachable
}

# es_java_home: a JDK 17 home for Elasticsearch (it has no bundled JDK in this distribution), and
# for s3proxy.
java_major() {
  "$1/bin/java" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p'
}

es_java_home() {
  local java home
  if java=$(command -v java 2>/dev/null); then
    home=$(dirname -- "$(dirname -- "$(readlink -f -- "$java")")")
    if [[ -x $home/bin/java && $(java_major "$home") == 17 ]]; then
      printf '%s' "$home"
      return 0
    fi
  fi
  for home in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/*-17-*; do
    if [[ -x $home/bin/java ]]; then
      printf '%s' "$home"
      return 0
    fi
  done
  return 1
}

apt_install() {
  (($#)) || return 0
  ((IS_ROOT)) || die "missing: $* — install with 'sudo apt-get install -y $*', or run this script as root"
  command -v apt-get >/dev/null 2>&1 || die "missing: $* — and there is no apt-get here to install it"
  say "installing with apt-get: $* (log: $LOG_DIR/apt.log)"
  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  # Keep Debian from starting its own system-wide services (e.g. redis on 6379) during install.
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from loupe scripts/services.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  {
    # Try with the current package lists first; refresh them if that fails.
    apt-get install -y -q --no-install-recommends "$@" ||
      { apt-get update -q && apt-get install -y -q --no-install-recommends "$@"; }
  } >>"$LOG_DIR/apt.log" 2>&1 </dev/null || rc=$?
  if ((made_policy)); then rm -f -- "$policy"; fi
  ((rc == 0)) || die_with_log "apt-get install $* failed" "$LOG_DIR/apt.log"
}

# missing packages: ES_PKGS (needed to fetch/run Elasticsearch and s3proxy), OTHER_PKGS (the rest)
ES_PKGS=()
OTHER_PKGS=()
find_missing_packages() {
  command -v curl >/dev/null 2>&1 || ES_PKGS+=(curl)
  if [[ ! -f $ES_INSTALLED_MARKER || ! -s $S3_JAR ]]; then
    command -v mvn >/dev/null 2>&1 || ES_PKGS+=(maven)
  fi
  if [[ ! -f $ES_INSTALLED_MARKER ]]; then
    command -v unzip >/dev/null 2>&1 || ES_PKGS+=(unzip)
  fi
  es_running || es_java_home >/dev/null || ES_PKGS+=(openjdk-17-jdk-headless)
  [[ -x $PG_BIN/postgres && -x $PG_BIN/pg_basebackup ]] || OTHER_PKGS+=(postgresql-15)
  command -v redis-server >/dev/null 2>&1 || OTHER_PKGS+=(redis-server)
  # PgBouncer is optional for an ordinary user, who cannot install it: pgb_up skips it then.
  [[ -x $PGB_BIN ]] || ((!IS_ROOT)) || OTHER_PKGS+=(pgbouncer)
  command -v flock >/dev/null 2>&1 || OTHER_PKGS+=(util-linux)
  return 0
}

# ----------------------------------------------------------------------------------------------
# PostgreSQL
# ----------------------------------------------------------------------------------------------

pg_pid() { pid_from_file "$1/postmaster.pid"; }
pg_running() { proc_matches "$(pg_pid "$1")" postgres; }

# write_if_changed FILE CONTENT: write FILE as the service user unless it already holds CONTENT;
# returns 0 when it wrote.
write_if_changed() {
  local file=$1 content=$2
  if [[ -f $file && "$(<"$file")" == "$content" ]]; then return 1; fi
  printf '%s\n' "$content" | as_svc tee "$file" >/dev/null
}

# pg_write_conf DATADIR PORT: (re)write our settings and pg_hba.conf (the same for both nodes);
# returns 0 when something changed.
pg_write_conf() {
  local data=$1 port=$2 conf hba changed=1
  conf=$(
    cat <<EOF
# Managed by scripts/services.sh and rewritten by 'up': edit the script, not this file.
listen_addresses = '$HOST'
port = $port
unix_socket_directories = ''        # TCP only: clients use 127.0.0.1
max_connections = 300               # test suites run in parallel
max_locks_per_transaction = 256     # dropping many tenant schemas in one transaction
log_line_prefix = '%m [%p] %q%u@%d '

# Memory and checkpoints sized for imports of millions of rows (each node: 24 GiB machine).
shared_buffers = '1GB'
max_wal_size = '8GB'                # bulk imports checkpoint on time, not every gigabyte
maintenance_work_mem = '256MB'

# Replication. The standby needs these >= the primary's, so both nodes use this same file.
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '256MB'             # a margin; the physical slot loupe_replica is the guarantee
max_slot_wal_keep_size = '8GB'      # but the slot of a long-stopped replica must not fill the disk
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 30s   # cancel replica queries blocking replay for > 30 s
max_standby_archive_delay = 30s
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 1s    # a standby whose primary restarted streams again within 1 s

# DEV/TEST BOX ONLY: durability is off for speed. A crash of the machine (not of PostgreSQL)
# can corrupt these clusters; then 'down', 'rm -rf .local/postgres' and 'up' rebuilds them.
fsync = off
full_page_writes = off
# synchronous_commit stays on: with fsync off a commit costs no disk flush anyway (measured: no
# difference in commits/s), and it sends each commit to the replica at once (visible there in a
# few ms) where 'off' delays it by up to 3 x wal_writer_delay (measured 100-150 ms).
synchronous_commit = on
EOF
  )
  hba=$(
    cat <<EOF
# Managed by scripts/services.sh. Local dev/test only: trust on 127.0.0.1, no Unix sockets.
# TYPE  DATABASE     USER  ADDRESS        METHOD
host    all          all   127.0.0.1/32   trust
host    replication  all   127.0.0.1/32   trust
EOF
  )
  if write_if_changed "$data/loupe.conf" "$conf"; then changed=0; fi
  if write_if_changed "$data/pg_hba.conf" "$hba"; then changed=0; fi
  if ! grep -q "^include_if_exists = 'loupe.conf'" "$data/postgresql.conf"; then
    printf "\n# Loupe dev/test settings, managed by scripts/services.sh\ninclude_if_exists = 'loupe.conf'\n" |
      as_svc tee -a "$data/postgresql.conf" >/dev/null
    changed=0
  fi
  return "$changed"
}

# pg_sync_conf DATADIR PORT NAME: for a running server, rewrite the config; if it changed,
# reload, and say which settings still need a restart.
pg_sync_conf() {
  local data=$1 port=$2 name=$3 pending
  pg_write_conf "$data" "$port" || return 0
  as_svc "$PG_BIN/pg_ctl" -D "$data" -s reload </dev/null
  sleep 0.3
  say "$name: configuration changed and reloaded"
  pending=$(pg_q "postgres://$PG_ROLE@$HOST:$port/postgres" \
    "SELECT string_agg(name, ', ') FROM pg_settings WHERE pending_restart" 2>/dev/null || true)
  if [[ -n $pending ]]; then
    warn "$name: changed settings that need a restart ($pending): run 'scripts/services.sh down' then 'up'"
  fi
}

# pg_start DATADIR PORT LOGFILE NAME
pg_start() {
  local data=$1 port=$2 log=$3 name=$4
  await_ports_free "$name" "$PORT_FREE_TIMEOUT" "not starting, as another process holds the port (not the server in $data)" "$port"
  pg_write_conf "$data" "$port" || true
  if ! daemon_run "${SVC[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t "$PG_START_TIMEOUT" -s start </dev/null; then
    die_with_log "$name: did not start within ${PG_START_TIMEOUT}s" "$log"
  fi
}

# pg_wait_ready PORT LOGFILE NAME: the server runs (pid alive) but may still be starting.
pg_wait_ready() {
  local port=$1 log=$2 name=$3 deadline=$((SECONDS + PG_START_TIMEOUT))
  until pg_ready "$port"; do
    ((SECONDS < deadline)) || die_with_log "$name: not accepting connections on port $port after ${PG_START_TIMEOUT}s" "$log"
    sleep 0.2
  done
}

# pg_stop DATADIR PORT LOGFILE NAME [MODE]: returns once the server has exited (pg_ctl waits
# for that) and its port is closed.
pg_stop() {
  local data=$1 port=$2 log=$3 name=$4 mode=${5:-fast}
  if ! pg_running "$data"; then
    await_ports_free "$name" "$PG_STOP_TIMEOUT" "not running from $data, but another process holds the port" "$port"
    say "$name: not running"
    return 0
  fi
  if ! as_svc "$PG_BIN/pg_ctl" -D "$data" -m "$mode" -w -t "$PG_STOP_TIMEOUT" -s stop </dev/null; then
    die_with_log "$name: did not stop within ${PG_STOP_TIMEOUT}s" "$log"
  fi
  await_ports_free "$name" "$PG_STOP_TIMEOUT" "stopped, but its port is still held" "$port"
  say "$name: stopped"
}

primary_init() {
  local tmp="$PG_DIR/primary.initdb"
  if [[ -e $PG_PRIMARY_DATA ]]; then
    rmdir -- "$PG_PRIMARY_DATA" 2>/dev/null ||
      die "postgres primary: $PG_PRIMARY_DATA exists but is not a data directory (no PG_VERSION); move it away"
  fi
  say "postgres primary: initialising $PG_PRIMARY_DATA"
  rm -rf -- "$tmp"
  if ! as_svc "$PG_BIN/initdb" -D "$tmp" -U "$PG_ROLE" --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$LOG_DIR/initdb.log" 2>&1 </dev/null; then
    die_with_log "postgres primary: initdb failed" "$LOG_DIR/initdb.log"
  fi
  mv -- "$tmp" "$PG_PRIMARY_DATA"
  PRIMARY_FRESH=1
}

primary_up() {
  local name="postgres primary"
  if [[ ! -f $PG_PRIMARY_DATA/PG_VERSION ]]; then primary_init; fi
  local version
  version=$(<"$PG_PRIMARY_DATA/PG_VERSION")
  [[ $version == 15 ]] || die "$name: $PG_PRIMARY_DATA is a PostgreSQL $version cluster, expected 15"
  if pg_running "$PG_PRIMARY_DATA"; then
    pg_wait_ready "$PG_PRIMARY_PORT" "$PG_PRIMARY_LOG" "$name"
    pg_sync_conf "$PG_PRIMARY_DATA" "$PG_PRIMARY_PORT" "$name"
    say "$name: already running on $HOST:$PG_PRIMARY_PORT"
  else
    pg_start "$PG_PRIMARY_DATA" "$PG_PRIMARY_PORT" "$PG_PRIMARY_LOG" "$name"
    say "$name: started on $HOST:$PG_PRIMARY_PORT"
  fi
  if [[ -z $(pg_q "$PRIMARY_ADMIN_URL" "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") ]]; then
    pg_q "$PRIMARY_ADMIN_URL" "CREATE DATABASE $PG_DB" >/dev/null
    say "$name: created database $PG_DB (owner: superuser role $PG_ROLE)"
  fi
}

replica_destroy() {
  if pg_running "$PG_REPLICA_DATA"; then
    pg_stop "$PG_REPLICA_DATA" "$PG_REPLICA_PORT" "$PG_REPLICA_LOG" "postgres replica" immediate
  fi
  rm -rf -- "$PG_REPLICA_DATA"
}

replica_create() {
  local name="postgres replica" tmp="$PG_DIR/replica.basebackup" active
  if [[ -e $PG_REPLICA_DATA ]]; then
    rmdir -- "$PG_REPLICA_DATA" 2>/dev/null ||
      die "$name: $PG_REPLICA_DATA exists but is not a data directory (no PG_VERSION); move it away"
  fi
  pg_ready "$PG_PRIMARY_PORT" || die "$name: cannot be created while the primary is down; run 'scripts/services.sh up'"
  # A slot left by an earlier replica would make pg_basebackup -C fail; it is useless now.
  active=$(pg_q "$PRIMARY_ADMIN_URL" "SELECT active FROM pg_replication_slots WHERE slot_name = '$PG_SLOT'")
  if [[ $active == t ]]; then
    die "$name: replication slot $PG_SLOT on the primary is in use by another standby"
  elif [[ $active == f ]]; then
    pg_q "$PRIMARY_ADMIN_URL" "SELECT pg_drop_replication_slot('$PG_SLOT')" >/dev/null
  fi
  say "$name: creating it with pg_basebackup from $HOST:$PG_PRIMARY_PORT"
  rm -rf -- "$tmp"
  if ! as_svc "$PG_BIN/pg_basebackup" -h "$HOST" -p "$PG_PRIMARY_PORT" -U "$PG_ROLE" -w \
    -D "$tmp" -R -X stream -C -S "$PG_SLOT" -c fast >"$LOG_DIR/pg_basebackup.log" 2>&1 </dev/null; then
    die_with_log "$name: pg_basebackup failed" "$LOG_DIR/pg_basebackup.log"
  fi
  mv -- "$tmp" "$PG_REPLICA_DATA"
}

# replica_problem: print what is wrong with a running replica (nothing when it is fine).
replica_problem() {
  local rec sys_r sys_p
  rec=$(pg_q "$LOCAL_DATABASE_REPLICA_URL" "SELECT pg_is_in_recovery()" 2>/dev/null) || {
    printf 'does not answer queries'
    return 0
  }
  if [[ $rec != t ]]; then
    printf 'is not in recovery (was it promoted?)'
    return 0
  fi
  if pg_ready "$PG_PRIMARY_PORT"; then
    sys_r=$(pg_q "$LOCAL_DATABASE_REPLICA_URL" "SELECT system_identifier FROM pg_control_system()")
    sys_p=$(pg_q "$PRIMARY_ADMIN_URL" "SELECT system_identifier FROM pg_control_system()")
    if [[ $sys_r != "$sys_p" ]]; then
      printf 'was copied from another primary (system identifier %s, primary has %s)' "$sys_r" "$sys_p"
    fi
  fi
}

replica_wait_streaming() {
  local name="postgres replica" deadline=$((SECONDS + REPLICA_STREAM_TIMEOUT)) st
  while :; do
    st=$(pg_q "$LOCAL_DATABASE_REPLICA_URL" "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null || true)
    [[ $st == streaming ]] && return 0
    ((SECONDS < deadline)) ||
      die_with_log "$name: not streaming from the primary after ${REPLICA_STREAM_TIMEOUT}s (wal receiver: ${st:-none})" \
        "$PG_REPLICA_LOG"
    sleep 0.2
  done
}

# replica_follow: after the primary (re)started, a running replica connects to it again by
# itself (its WAL receiver is retried every wal_retrieve_retry_interval): wait until the
# primary streams to it, counting only the primary's view (the replica's may be that of its
# connection to the server that just stopped).
replica_follow() {
  local name="postgres replica" deadline=$((SECONDS + REPLICA_STREAM_TIMEOUT)) n
  if ! pg_ready "$PG_REPLICA_PORT"; then
    say "$name: not running, so not streaming (replica-start starts it)"
    return 0
  fi
  until n=$(pg_q "$PRIMARY_ADMIN_URL" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null) &&
    ((n > 0)); do
    ((SECONDS < deadline)) ||
      die_with_log "$name: not streaming from the restarted primary after ${REPLICA_STREAM_TIMEOUT}s" "$PG_REPLICA_LOG"
    sleep 0.2
  done
  replica_wait_streaming
  say "$name: streaming from :$PG_PRIMARY_PORT again"
}

replica_up() {
  local name="postgres replica" attempt problem primary_up=1 state
  pg_ready "$PG_PRIMARY_PORT" || primary_up=0
  if ((PRIMARY_FRESH)) && [[ -e $PG_REPLICA_DATA ]]; then
    say "$name: the primary was just initialised; rebuilding the replica from it"
    replica_destroy
  fi
  for attempt in 1 2; do
    [[ -f $PG_REPLICA_DATA/PG_VERSION ]] || replica_create
    if pg_running "$PG_REPLICA_DATA"; then
      pg_wait_ready "$PG_REPLICA_PORT" "$PG_REPLICA_LOG" "$name"
      pg_sync_conf "$PG_REPLICA_DATA" "$PG_REPLICA_PORT" "$name"
      state="already running"
    else
      pg_start "$PG_REPLICA_DATA" "$PG_REPLICA_PORT" "$PG_REPLICA_LOG" "$name"
      state="started"
    fi
    problem=$(replica_problem)
    [[ -z $problem ]] && break
    ((attempt == 1 && primary_up)) || die_with_log "$name: $problem" "$PG_REPLICA_LOG"
    say "$name: it $problem; rebuilding it from the primary"
    replica_destroy
  done
  if ((primary_up)); then
    replica_wait_streaming
    say "$name: $state on $HOST:$PG_REPLICA_PORT (hot standby, streaming from :$PG_PRIMARY_PORT)"
  else
    warn "$name: $state on $HOST:$PG_REPLICA_PORT, but the primary is down, so it is not streaming"
  fi
}

# ----------------------------------------------------------------------------------------------
# Redis
# ----------------------------------------------------------------------------------------------

redis_running() { proc_matches "$(pid_from_file "$REDIS_PIDFILE")" redis-server; }

redis_up() {
  local name=redis deadline
  if redis_running; then
    deadline=$((SECONDS + REDIS_START_TIMEOUT))
    until redis_ping; do
      ((SECONDS < deadline)) || die_with_log "$name: running but not answering PING" "$REDIS_LOG"
      sleep 0.1
    done
    say "$name: already running on $HOST:$REDIS_PORT"
    return 0
  fi
  command -v redis-server >/dev/null 2>&1 ||
    die "$name: redis-server is not installed (apt-get install -y redis-server, as root)"
  await_ports_free "$name" "$PORT_FREE_TIMEOUT" "not starting, as another process holds the port (not ours: no live $REDIS_PIDFILE)" "$REDIS_PORT"
  rm -f -- "$REDIS_PIDFILE"
  # The append-only file keeps the broker's queues through a restart, as a deployed broker
  # must (fsync every second); no snapshots.
  if ! daemon_run "${SVC[@]}" redis-server --bind "$HOST" --port "$REDIS_PORT" --protected-mode yes \
    --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
    --save "" --appendonly yes --appendfsync everysec </dev/null >/dev/null 2>&1; then
    die_with_log "$name: redis-server failed to start" "$REDIS_LOG"
  fi
  deadline=$((SECONDS + REDIS_START_TIMEOUT))
  until redis_ping; do
    ((SECONDS < deadline)) || die_with_log "$name: not answering PING after ${REDIS_START_TIMEOUT}s" "$REDIS_LOG"
    sleep 0.1
  done
  say "$name: started on $HOST:$REDIS_PORT"
}

redis_down() {
  local name=redis pid
  pid=$(pid_from_file "$REDIS_PIDFILE")
  if ! proc_matches "$pid" redis-server; then
    await_ports_free "$name" "$REDIS_STOP_TIMEOUT" "not running (no live $REDIS_PIDFILE), but another process holds the port" "$REDIS_PORT"
    say "$name: not running"
    return 0
  fi
  timeout 10 redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  if ! wait_pid_gone "$pid" "$REDIS_STOP_TIMEOUT"; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 5 || die_with_log "$name: pid $pid did not stop" "$REDIS_LOG"
  fi
  await_ports_free "$name" "$REDIS_STOP_TIMEOUT" "pid $pid exited, but its port is still held" "$REDIS_PORT"
  say "$name: stopped"
}

# ----------------------------------------------------------------------------------------------
# Elasticsearch
# ----------------------------------------------------------------------------------------------

es_pid() { pid_from_file "$ES_PIDFILE"; }
es_running() { proc_matches "$(es_pid)" org.elasticsearch; }

es_install() {
  [[ -f $ES_INSTALLED_MARKER && -x $ES_HOME/bin/elasticsearch ]] && return 0
  local name=elasticsearch
  local zip="$HOME/.m2/repository/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  if [[ ! -s $zip ]]; then
    say "$name: fetching $ES_MAVEN_ARTIFACT from Maven Central (log: $LOG_DIR/maven.log)"
    if ! mvn -q -B dependency:get "-Dartifact=$ES_MAVEN_ARTIFACT" -Dtransitive=false \
      >"$LOG_DIR/maven.log" 2>&1 </dev/null; then
      die_with_log "$name: mvn dependency:get failed" "$LOG_DIR/maven.log"
    fi
    [[ -s $zip ]] || die "$name: mvn succeeded but $zip is missing (non-default Maven local repository?)"
  fi
  say "$name: unpacking $(basename -- "$zip") into $ES_BASE"
  local tmp="$ES_BASE/.unpack"
  rm -rf -- "$tmp" "$ES_HOME"
  mkdir -p -- "$tmp"
  unzip -q -- "$zip" -d "$tmp" || die "$name: unzip of $zip failed"
  [[ -x $tmp/elasticsearch-$ES_VERSION/bin/elasticsearch ]] || die "$name: unexpected layout in $zip"
  mv -- "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rm -rf -- "$tmp"
  if ((IS_ROOT)); then chown -R "$SVC_USER:" -- "$ES_HOME"; fi
  : >"$ES_INSTALLED_MARKER"
}

es_configure() {
  as_svc mkdir -p -- "$ES_DATA" "$ES_LOGS" "$ES_TMP"
  # Note: this integ-test distribution lacks many modules (no reindex, no painless, ...), but it
  # accepts every setting below (checked against 8.19.7).
  as_svc tee "$ES_HOME/config/elasticsearch.yml" >/dev/null <<EOF
# Managed by scripts/services.sh and rewritten at every start: edit the script, not this file.
cluster.name: $ES_CLUSTER
node.name: $ES_CLUSTER-1
discovery.type: single-node
network.host: $HOST
http.port: $ES_HTTP_PORT
transport.port: $ES_TRANSPORT_PORT
path.data: "$ES_DATA"
path.logs: "$ES_LOGS"
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
}

# es_fail MESSAGE: Elasticsearch's logs end in long stack traces; show their headlines too.
es_fail() {
  log_tail "$ES_LOG" 15
  if [[ -s $ES_START_LOG ]]; then
    printf '[services] ---- errors reported by Elasticsearch (%s) ----\n' "$ES_START_LOG" >&2
    grep -E '\]\[(ERROR|FATAL) *\]|^ERROR:|^[A-Za-z.$]+(Exception|Error): ' "$ES_START_LOG" |
      cut -c1-400 | tail -n 8 >&2 || true
  fi
  die "$1 (logs: $ES_START_LOG, $ES_LOG)"
}

# es_up: install if needed, start if stopped, wait for cluster health. Run in the background by
# `up` (Elasticsearch boots slowest), so it reports failure by its exit status.
es_up() {
  local name=elasticsearch java_home deadline st state
  if ! es_running; then
    await_ports_free "$name" "$PORT_FREE_TIMEOUT" "not starting, as another process holds the port (not ours: no live $ES_PIDFILE)" \
      "$ES_HTTP_PORT" "$ES_TRANSPORT_PORT"
    es_install
    java_home=$(es_java_home) || die "$name: no JDK 17 found (apt-get install -y openjdk-17-jdk-headless)"
    es_configure
    rm -f -- "$ES_PIDFILE"
    say "$name: starting (ES_JAVA_HOME=$java_home, heap 1g)"
    : >"$ES_START_LOG"
    # -d daemonises; the launcher returns once the node has started (or failed). setsid detaches
    # the node from this script's session and terminal.
    if ! daemon_run setsid -w "${SVC[@]}" env -u ES_PATH_CONF -u JAVA_HOME \
      "ES_JAVA_HOME=$java_home" "ES_JAVA_OPTS=$ES_JAVA_OPTIONS" "ES_TMPDIR=$ES_TMP" \
      "$ES_HOME/bin/elasticsearch" -d -p "$ES_PIDFILE" </dev/null >>"$ES_START_LOG" 2>&1; then
      es_fail "$name: failed to start"
    fi
    state=started
  else
    state="already running"
  fi
  deadline=$((SECONDS + ES_START_TIMEOUT))
  while :; do
    st=$(es_health "$LOCAL_ELASTICSEARCH_URL")
    [[ $st == green || $st == yellow ]] && break
    es_running || es_fail "$name: the process exited during startup"
    ((SECONDS < deadline)) ||
      die_with_log "$name: cluster health not green/yellow after ${ES_START_TIMEOUT}s (got: ${st:-no answer})" "$ES_LOG"
    sleep 0.5
  done
  say "$name: $state on $HOST:$ES_HTTP_PORT (cluster health $st)"
}

# es_stop_begin / es_stop_wait: send SIGTERM first, stop the other services, then wait.
ES_STOPPING_PID=""
es_stop_begin() {
  local pid
  pid=$(es_pid)
  if proc_matches "$pid" org.elasticsearch; then
    kill -TERM "$pid" 2>/dev/null || true
    ES_STOPPING_PID=$pid
  fi
}

es_stop_wait() {
  local name=elasticsearch pid=$ES_STOPPING_PID
  if [[ -z $pid ]]; then
    await_ports_free "$name" "$ES_STOP_TIMEOUT" "not running (no live $ES_PIDFILE), but another process holds the port" \
      "$ES_HTTP_PORT" "$ES_TRANSPORT_PORT"
    say "$name: not running"
    return 0
  fi
  if ! wait_pid_gone "$pid" "$ES_STOP_TIMEOUT"; then
    warn "$name: pid $pid still running after ${ES_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || die "$name: pid $pid did not die"
  fi
  await_ports_free "$name" "$ES_STOP_TIMEOUT" "pid $pid exited, but a port is still held" \
    "$ES_HTTP_PORT" "$ES_TRANSPORT_PORT"
  rm -f -- "$ES_PIDFILE"
  say "$name: stopped"
}

# ----------------------------------------------------------------------------------------------
# S3 (s3proxy: an S3 API over files under .local/s3/data)
# ----------------------------------------------------------------------------------------------

s3_pid() { pid_from_file "$S3_PIDFILE"; }
s3_running() { proc_matches "$(s3_pid)" s3proxy; }

# s3_install: the runnable jar from Maven Central, copied where the service user can read it.
# `up` runs it before Elasticsearch's fetch starts: two mvn runs at once would share ~/.m2.
s3_install() {
  [[ -s $S3_JAR ]] && return 0
  local name=s3
  local jar="$HOME/.m2/repository/org/gaul/s3proxy/$S3PROXY_VERSION/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"
  if [[ ! -s $jar ]]; then
    command -v mvn >/dev/null 2>&1 || die "$name: mvn is missing; 'scripts/services.sh up' installs it"
    say "$name: fetching $S3PROXY_MAVEN_ARTIFACT from Maven Central (log: $LOG_DIR/maven-s3proxy.log)"
    if ! mvn -q -B dependency:get "-Dartifact=$S3PROXY_MAVEN_ARTIFACT" -Dtransitive=false \
      >"$LOG_DIR/maven-s3proxy.log" 2>&1 </dev/null; then
      die_with_log "$name: mvn dependency:get failed" "$LOG_DIR/maven-s3proxy.log"
    fi
    [[ -s $jar ]] || die "$name: mvn succeeded but $jar is missing (non-default Maven local repository?)"
  fi
  cp -- "$jar" "$S3_JAR.tmp"
  if ((IS_ROOT)); then chown "$SVC_USER:" -- "$S3_JAR.tmp"; fi
  mv -- "$S3_JAR.tmp" "$S3_JAR"
}

s3_configure() {
  as_svc mkdir -p -- "$S3_DATA"
  as_svc tee "$S3_CONF" >/dev/null <<EOF
# Managed by scripts/services.sh and rewritten at every start: edit the script, not this file.
s3proxy.endpoint=$LOCAL_S3_ENDPOINT_URL
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_IDENTITY
s3proxy.credential=$S3_CREDENTIAL
# filesystem-nio2, not the older filesystem provider: that one lists folders as objects and
# takes 10 s to delete each such marker.
jclouds.provider=filesystem-nio2
jclouds.identity=$S3_IDENTITY
jclouds.credential=$S3_CREDENTIAL
jclouds.filesystem.basedir=$S3_DATA
EOF
}

# s3_make_bucket: create the bucket; one there already (409, owned by us) is fine.
s3_make_bucket() {
  local name=s3 code
  code=$(s3_signed -o "$LOG_DIR/s3-bucket.xml" -w '%{http_code}' -X PUT "$LOCAL_S3_ENDPOINT_URL/$S3_BUCKET") || true
  if [[ $code == 200 ]]; then
    say "$name: created bucket $S3_BUCKET"
  elif [[ $code != 409 ]] || ! grep -q BucketAlreadyOwnedByYou "$LOG_DIR/s3-bucket.xml"; then
    die_with_log "$name: creating bucket $S3_BUCKET answered HTTP ${code:-000}" "$LOG_DIR/s3-bucket.xml" "$S3_LOG"
  fi
}

s3_up() {
  local name=s3 java_home deadline state
  if ! s3_running; then
    await_ports_free "$name" "$PORT_FREE_TIMEOUT" "not starting, as another process holds the port (not ours: no live $S3_PIDFILE)" "$S3_PORT"
    s3_install
    java_home=$(es_java_home) || die "$name: no JDK 17 found (apt-get install -y openjdk-17-jdk-headless)"
    s3_configure
    rm -f -- "$S3_PIDFILE"
    say "$name: starting s3proxy $S3PROXY_VERSION (java from $java_home)"
    # s3proxy does not daemonise itself: setsid -f detaches it into a session of its own and
    # returns at once, and a shell writes its own pid (java's, after exec) to the pid file.
    if ! daemon_run setsid -f "${SVC[@]}" sh -c 'echo $$ >"$1" && shift && exec "$@"' s3proxy \
      "$S3_PIDFILE" "$java_home/bin/java" $S3PROXY_JAVA_OPTIONS -jar "$S3_JAR" \
      --properties "$S3_CONF" </dev/null >>"$S3_LOG" 2>&1; then
      die_with_log "$name: failed to start" "$S3_LOG"
    fi
    deadline=$((SECONDS + S3_START_TIMEOUT))
    until [[ $(s3_http_code "$LOCAL_S3_ENDPOINT_URL") != 000 ]]; do
      if [[ -s $S3_PIDFILE ]] && ! s3_running; then
        die_with_log "$name: the process exited during startup" "$S3_LOG"
      fi
      ((SECONDS < deadline)) || die_with_log "$name: not answering on $HOST:$S3_PORT after ${S3_START_TIMEOUT}s" "$S3_LOG"
      sleep 0.2
    done
    state=started
  else
    state="already running"
  fi
  s3_make_bucket
  say "$name: $state on $HOST:$S3_PORT (bucket $S3_BUCKET, objects under $S3_DATA)"
}

# s3_down: returns once the process has exited and its port is closed.
s3_down() {
  local name=s3 pid
  pid=$(s3_pid)
  if ! proc_matches "$pid" s3proxy; then
    await_ports_free "$name" "$S3_STOP_TIMEOUT" "not running (no live $S3_PIDFILE), but another process holds the port" "$S3_PORT"
    say "$name: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" "$S3_STOP_TIMEOUT"; then
    warn "$name: pid $pid still running after ${S3_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || die "$name: pid $pid did not die"
  fi
  await_ports_free "$name" "$S3_STOP_TIMEOUT" "pid $pid exited, but its port is still held" "$S3_PORT"
  rm -f -- "$S3_PIDFILE"
  say "$name: stopped"
}

# ----------------------------------------------------------------------------------------------
# PgBouncer (transaction pooling in front of the primary and the replica; docs/pooling.md)
# ----------------------------------------------------------------------------------------------

# One PgBouncer process per server, as a `*` entry can name only one: any database name the
# client asks for (the tests' <name>_test<N> too) is passed through to the same name there.
# Postgres trusts 127.0.0.1, so PgBouncer trusts its clients too (auth_type trust, the users
# listed without a password) and logs in to Postgres as the client's user.

pgb_pidfile() { printf '%s' "$RUN_DIR/pgbouncer-$1.pid"; }
pgb_log() { printf '%s' "$LOG_DIR/pgbouncer-$1.log"; }
pgb_running() { proc_matches "$(pid_from_file "$(pgb_pidfile "$1")")" pgbouncer; }

# pgb_configure NAME LISTEN_PORT SERVER_PORT: (re)write the node's config and the user list.
pgb_configure() {
  local node=$1 listen=$2 server=$3
  printf '"%s" ""\n' "$PG_ROLE" | as_svc tee "$PGB_DIR/userlist.txt" >/dev/null
  # PgBouncer opens its log as the service user; this script appends its start errors to it.
  touch -- "$(pgb_log "$node")"
  if ((IS_ROOT)); then chown "$SVC_USER:" -- "$(pgb_log "$node")"; fi
  as_svc tee "$PGB_DIR/$node.ini" >/dev/null <<EOF
; Managed by scripts/services.sh and rewritten at every start: edit the script, not this file.
[databases]
* = host=$HOST port=$server

[pgbouncer]
listen_addr = $HOST
listen_port = $listen
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
; The console (database pgbouncer) answers SHOW CONFIG, POOLS and STATS to this user.
stats_users = $PG_ROLE
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
; Some drivers send it at connect; PgBouncer refuses a parameter it does not know.
ignore_startup_parameters = extra_float_digits
logfile = $(pgb_log "$node")
pidfile = $(pgb_pidfile "$node")
log_connections = 0
log_disconnections = 0
EOF
}

# pgb_start NAME LISTEN_PORT SERVER_PORT
pgb_start() {
  local node=$1 listen=$2 server=$3 name="pgbouncer $1" deadline state
  if pgb_running "$node"; then
    state="already running"
  else
    await_ports_free "$name" "$PORT_FREE_TIMEOUT" \
      "not starting, as another process holds the port (not ours: no live $(pgb_pidfile "$node"))" "$listen"
    pgb_configure "$node" "$listen" "$server"
    rm -f -- "$(pgb_pidfile "$node")"
    if ! daemon_run "${SVC[@]}" "$PGB_BIN" -q -d "$PGB_DIR/$node.ini" </dev/null >>"$(pgb_log "$node")" 2>&1; then
      die_with_log "$name: failed to start" "$(pgb_log "$node")"
    fi
    deadline=$((SECONDS + PGB_START_TIMEOUT))
    until port_open "$listen"; do
      ((SECONDS < deadline)) ||
        die_with_log "$name: not listening on $HOST:$listen after ${PGB_START_TIMEOUT}s" "$(pgb_log "$node")"
      sleep 0.1
    done
    state=started
  fi
  say "$name: $state on $HOST:$listen (transaction pooling, to :$server)"
}

pgb_up() {
  if [[ ! -x $PGB_BIN ]]; then
    warn "pgbouncer: not installed (apt-get install -y pgbouncer, as root); not starting it"
    return 0
  fi
  pgb_start primary "$PGB_PRIMARY_PORT" "$PG_PRIMARY_PORT"
  pgb_start replica "$PGB_REPLICA_PORT" "$PG_REPLICA_PORT"
}

# pgb_stop NAME LISTEN_PORT: returns once the process has exited and its port is closed.
pgb_stop() {
  local node=$1 listen=$2 name="pgbouncer $1" pid
  pid=$(pid_from_file "$(pgb_pidfile "$node")")
  if ! proc_matches "$pid" pgbouncer; then
    await_ports_free "$name" "$PGB_STOP_TIMEOUT" \
      "not running (no live $(pgb_pidfile "$node")), but another process holds the port" "$listen"
    say "$name: not running"
    return 0
  fi
  kill -INT "$pid" 2>/dev/null || true # SIGINT shuts down at once; SIGTERM waits for clients
  if ! wait_pid_gone "$pid" "$PGB_STOP_TIMEOUT"; then
    warn "$name: pid $pid still running after ${PGB_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 5 || die "$name: pid $pid did not die"
  fi
  await_ports_free "$name" "$PGB_STOP_TIMEOUT" "pid $pid exited, but its port is still held" "$listen"
  rm -f -- "$(pgb_pidfile "$node")"
  say "$name: stopped"
}

pgb_down() {
  pgb_stop replica "$PGB_REPLICA_PORT"
  pgb_stop primary "$PGB_PRIMARY_PORT"
}

# pgb_status NAME LISTEN_PORT: a query passed through it, and its pool mode from its console.
pgb_status() {
  local node=$1 listen=$2 url="postgres://$PG_ROLE@$HOST:$2/$PG_DB" mode
  if [[ ! -x $PGB_BIN ]]; then
    status_line "pgbouncer $node" "$url" "not installed (optional; 'scripts/services.sh up' as root installs it)"
    return 0
  fi
  if ! pg_q "$url" "SELECT 1" >/dev/null 2>&1; then
    status_line "pgbouncer $node" "$url" DOWN
    return 1
  fi
  mode=$(pg_q "postgres://$PG_ROLE@$HOST:$listen/pgbouncer" "SHOW CONFIG" 2>/dev/null |
    awk -F'|' '$1 == "pool_mode" { print $2 }' || true)
  status_line "pgbouncer $node" "$url" "up (${mode:-unknown} pooling)"
}

# ----------------------------------------------------------------------------------------------
# Status
# ----------------------------------------------------------------------------------------------

status_line() { printf '[services] %-17s %-40s %s\n' "$1" "$(mask_url "$2")" "$3"; }

status_primary() {
  local url
  url=$(database_url)
  if pg_q "$url" "SELECT 1" >/dev/null 2>&1; then
    status_line "postgres primary" "$url" up
  else
    status_line "postgres primary" "$url" DOWN
    return 1
  fi
}

status_replica() {
  local url purl row rec lsn ago recv bytes lag
  url=$(database_replica_url)
  purl=$(database_url)
  if ! row=$(pg_q "$url" "SELECT pg_is_in_recovery(),
        coalesce(pg_last_wal_replay_lsn()::text, ''),
        coalesce(round(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::numeric, 1)::text, ''),
        coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')" 2>/dev/null); then
    status_line "postgres replica" "$url" DOWN
    return 1
  fi
  IFS='|' read -r rec lsn ago recv <<<"$row"
  if [[ $rec != t ]]; then
    status_line "postgres replica" "$url" "up but NOT in recovery (pg_is_in_recovery() = false: not a replica)"
    return 1
  fi
  bytes=""
  if [[ -n $lsn ]]; then
    bytes=$(pg_q "$purl" "SELECT greatest(0, pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn'))::bigint" 2>/dev/null || true)
  fi
  if [[ -z $bytes ]]; then
    lag="lag unknown (primary unreachable)"
  elif [[ $bytes == 0 ]]; then
    lag="lag 0 (caught up${ago:+; last replayed commit ${ago}s ago})"
  else
    lag="lag $bytes bytes${ago:+, ${ago}s behind by last replayed commit time}"
  fi
  if [[ $recv == streaming ]]; then
    status_line "postgres replica" "$url" "up (in recovery, streaming, $lag)"
  else
    status_line "postgres replica" "$url" "up (in recovery) but NOT streaming (wal receiver: $recv), $lag"
    return 1
  fi
}

status_redis() {
  local url out
  url=$(redis_url)
  if command -v redis-cli >/dev/null 2>&1 &&
    out=$(timeout 3 redis-cli -u "$url" ping 2>/dev/null) && [[ $out == PONG ]]; then
    status_line redis "$url" up
  else
    status_line redis "$url" DOWN
    return 1
  fi
}

status_es() {
  local url st
  url=$(elasticsearch_url)
  st=$(es_health "$url")
  case $st in
    green | yellow) status_line elasticsearch "$url" "up (cluster health $st)" ;;
    "")
      status_line elasticsearch "$url" DOWN
      return 1
      ;;
    *)
      status_line elasticsearch "$url" "up but cluster health $st"
      return 1
      ;;
  esac
}

status_s3() {
  local url
  url=$(s3_endpoint_url)
  if [[ $(s3_http_code "$url") == 000 ]]; then
    status_line s3 "$url" DOWN
    return 1
  fi
  if [[ -n ${S3_ENDPOINT_URL:-} ]]; then
    status_line s3 "$url" up
  elif [[ $(s3_signed -o /dev/null -w '%{http_code}' -I "$url/$S3_BUCKET") == 200 ]]; then
    status_line s3 "$url" "up (bucket $S3_BUCKET)"
  else
    status_line s3 "$url" "up but bucket $S3_BUCKET is missing (run scripts/services.sh up)"
    return 1
  fi
}

# ----------------------------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------------------------

cmd_up() {
  local t0 es_job
  t0=$(now)
  if external_all_set; then
    say "DATABASE_URL, DATABASE_REPLICA_URL, REDIS_URL, ELASTICSEARCH_URL and S3_ENDPOINT_URL are set: starting nothing, using"
    say "  DATABASE_URL=$(mask_url "$DATABASE_URL")"
    say "  DATABASE_REPLICA_URL=$(mask_url "$DATABASE_REPLICA_URL")"
    say "  REDIS_URL=$(mask_url "$REDIS_URL")"
    say "  ELASTICSEARCH_URL=$(mask_url "$ELASTICSEARCH_URL")"
    say "  S3_ENDPOINT_URL=$(mask_url "$S3_ENDPOINT_URL")"
    return 0
  fi
  if external_any_set; then
    warn "only some of DATABASE_URL, DATABASE_REPLICA_URL, REDIS_URL, ELASTICSEARCH_URL, S3_ENDPOINT_URL are set; starting all local services anyway"
  fi
  acquire_lock
  setup_service_user
  prepare_local
  find_missing_packages
  if ((${#ES_PKGS[@]})); then
    apt_install "${ES_PKGS[@]}" "${OTHER_PKGS[@]}"
    OTHER_PKGS=()
  fi
  s3_install
  # Elasticsearch takes longest to fetch and boot: run it in the background meanwhile.
  es_up &
  es_job=$!
  apt_install "${OTHER_PKGS[@]}"
  primary_up
  replica_up
  redis_up
  s3_up
  pgb_up
  wait "$es_job" || die "elasticsearch: not ready (see above)"
  say "all services ready in $(elapsed_since "$t0")s; use them with: eval \"\$(scripts/services.sh env)\""
}

cmd_down() {
  if [[ ! -d $LOCAL_DIR ]]; then
    say "nothing to stop ($LOCAL_DIR does not exist)"
    return 0
  fi
  if external_all_set; then say "note: the external services in DATABASE_URL etc. are not touched; stopping the local ones"; fi
  acquire_lock
  setup_service_user
  es_stop_begin
  pgb_down
  pg_stop "$PG_REPLICA_DATA" "$PG_REPLICA_PORT" "$PG_REPLICA_LOG" "postgres replica"
  pg_stop "$PG_PRIMARY_DATA" "$PG_PRIMARY_PORT" "$PG_PRIMARY_LOG" "postgres primary"
  redis_down
  s3_down
  es_stop_wait
}

cmd_primary_stop() {
  acquire_lock
  setup_service_user
  pg_stop "$PG_PRIMARY_DATA" "$PG_PRIMARY_PORT" "$PG_PRIMARY_LOG" "postgres primary"
}

cmd_primary_start() {
  acquire_lock
  setup_service_user
  prepare_local
  primary_up
  replica_follow
}

cmd_primary_restart() {
  acquire_lock
  setup_service_user
  prepare_local
  pg_stop "$PG_PRIMARY_DATA" "$PG_PRIMARY_PORT" "$PG_PRIMARY_LOG" "postgres primary"
  primary_up
  replica_follow
}

cmd_replica_stop() {
  [[ -f $PG_REPLICA_DATA/PG_VERSION ]] || {
    say "postgres replica: not created yet (nothing to stop)"
    return 0
  }
  acquire_lock
  setup_service_user
  pg_stop "$PG_REPLICA_DATA" "$PG_REPLICA_PORT" "$PG_REPLICA_LOG" "postgres replica"
}

cmd_replica_start() {
  acquire_lock
  setup_service_user
  prepare_local
  replica_up
}

cmd_redis_stop() {
  acquire_lock
  redis_down
}

cmd_redis_start() {
  acquire_lock
  setup_service_user
  prepare_local
  redis_up
}

cmd_elasticsearch_stop() {
  acquire_lock
  es_stop_begin
  es_stop_wait
}

cmd_elasticsearch_start() {
  acquire_lock
  setup_service_user
  prepare_local
  es_up
}

cmd_s3_stop() {
  acquire_lock
  s3_down
}

cmd_s3_start() {
  acquire_lock
  setup_service_user
  prepare_local
  s3_up
}

cmd_pgbouncer_stop() {
  acquire_lock
  pgb_down
}

cmd_pgbouncer_start() {
  acquire_lock
  setup_service_user
  prepare_local
  pgb_up
}

cmd_status() {
  local rc=0
  status_primary || rc=1
  status_replica || rc=1
  status_redis || rc=1
  status_es || rc=1
  status_s3 || rc=1
  if ! external_any_set; then
    pgb_status primary "$PGB_PRIMARY_PORT" || rc=1
    pgb_status replica "$PGB_REPLICA_PORT" || rc=1
  fi
  if ((rc)) && ! external_any_set; then say "something is down: run scripts/services.sh up"; fi
  return "$rc"
}

# The browser the test suite drives (Debian's Chromium and its ChromeDriver), installed when
# missing: `make test` asks for it.
cmd_browser() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
  apt_install "${missing[@]}"
  say "browser: $(/usr/bin/chromedriver --version | cut -d' ' -f1-2) for $(/usr/bin/chromium --version 2>/dev/null | cut -d' ' -f1-2)"
}

cmd_env() {
  printf 'export DATABASE_URL=%q\n' "$(database_url)"
  printf 'export DATABASE_REPLICA_URL=%q\n' "$(database_replica_url)"
  printf 'export REDIS_URL=%q\n' "$(redis_url)"
  printf 'export ELASTICSEARCH_URL=%q\n' "$(elasticsearch_url)"
  printf 'export S3_ENDPOINT_URL=%q\n' "$(s3_endpoint_url)"
  # The local server's keys; with S3_ENDPOINT_URL set, the keys are the caller's own.
  if [[ -z ${S3_ENDPOINT_URL:-} ]]; then
    printf 'export AWS_ACCESS_KEY_ID=%q\n' "$S3_IDENTITY"
    printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$S3_CREDENTIAL"
  fi
}

usage() {
  sed -n '/^# Usage:/,/^# All state/p' "${BASH_SOURCE[0]}" | sed -e '$d' -E -e 's/^# ?//'
}

main() {
  local cmd=${1:-help}
  case $cmd in
    up | down | *-stop | *-start | *-restart) reserve_ports ;;
  esac
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    browser) cmd_browser ;;
    primary-stop) cmd_primary_stop ;;
    primary-start) cmd_primary_start ;;
    primary-restart) cmd_primary_restart ;;
    replica-stop) cmd_replica_stop ;;
    replica-start) cmd_replica_start ;;
    redis-stop) cmd_redis_stop ;;
    redis-start) cmd_redis_start ;;
    elasticsearch-stop) cmd_elasticsearch_stop ;;
    elasticsearch-start) cmd_elasticsearch_start ;;
    s3-stop) cmd_s3_stop ;;
    s3-start) cmd_s3_start ;;
    pgbouncer-stop) cmd_pgbouncer_stop ;;
    pgbouncer-start) cmd_pgbouncer_start ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
