#!/usr/bin/env bash
# `make run`: migrate, ensure the demo tenant, then serve HTTP + WebSocket, serve online
# predict on a port of its own, and run the workers (default and index queues with beat; the
# gpu queue). Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# The development issuer's address: the admins' sign-in trades its codes there.
export PUBLIC_URL=${PUBLIC_URL:-http://localhost:$PORT}
# The predict server's port; exported, so the API's port names it to a predict call.
export SERVING_PORT=${SERVING_PORT:-8001}
# Local use: Loupe is its own token issuer (`manage.py issue_token`) unless OIDC_ISSUER names
# one, with DEBUG off as deployed. A deployment never sets these (see README, Identity).
export DEV_ISSUER_ENABLED=${DEV_ISSUER_ENABLED:-true}
export DEV_ISSUER_ALLOW_WITHOUT_DEBUG=${DEV_ISSUER_ALLOW_WITHOUT_DEBUG:-true}

eval "$(scripts/services.sh env)"
$PY manage.py bootstrap --demo

pids=()
stop() {
  trap - INT TERM EXIT
  echo "[run] stopping"
  for pid in "${pids[@]}"; do
    # A supervisor first (so it restarts nothing), then what it runs.
    kids=$(pgrep -P "$pid" || true)
    kill "$pid" 2>/dev/null || true
    [ -n "$kids" ] && kill $kids 2>/dev/null || true
  done
  wait || true
}
trap stop INT TERM EXIT

# Each worker, and the predict server, is restarted when it dies (a training run or a model
# load killed for memory, say), as a container restart policy would; the job sweep then
# resumes what a worker was running.
supervise() {
  local name=$1
  shift
  while true; do
    "$@" || true
    echo "[run] $name exited; restarting in 2 s"
    sleep 2
  done
}

# The default and index queues; beat, on its own (one embedded in a worker would outlive
# that worker killed, beside the next one's), sends the periodic outbox and job sweeps.
supervise "default worker" .venv/bin/celery -A loupe.celery worker -n default@%h -Q default,index \
  --concurrency 2 --loglevel INFO &
pids+=($!)
supervise "beat" .venv/bin/celery -A loupe.celery beat --schedule .local/celerybeat-schedule \
  --loglevel INFO &
pids+=($!)
# The gpu queue: one training run per device at a time (prefetch 1).
supervise "gpu worker" .venv/bin/celery -A loupe.celery worker -n gpu@%h -Q gpu --concurrency 1 \
  --prefetch-multiplier 1 --loglevel INFO &
pids+=($!)
# Online predict: its own process, which holds torch and the loaded model versions (the API's
# process never imports torch).
# Both servers leave X-Forwarded-For to Loupe, which believes it from TRUSTED_PROXIES alone
# (uvicorn's own handling would take it from any local peer).
supervise "predict server" .venv/bin/uvicorn --app-dir platform loupe.serving_asgi:application \
  --host "$HOST" --port "$SERVING_PORT" --no-access-log --no-proxy-headers &
pids+=($!)
# The API: one process per core (Django serves each process's sync views on one thread), the
# sockets' groups shared through the Redis channel layer; each process's request metrics go
# to the multiprocess directory, emptied at each start, and /metrics reports them all.
WEB_PROCESSES=${WEB_PROCESSES:-$(nproc)}
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-.local/metrics}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
.venv/bin/uvicorn --app-dir platform loupe.asgi:application --host "$HOST" --port "$PORT" \
  --workers "$WEB_PROCESSES" --no-access-log --no-proxy-headers &
pids+=($!)

# The predict server starts slower (it imports torch).
for port in "$PORT" "$SERVING_PORT"; do
  for _ in $(seq 1 150); do
    curl -sf "http://$HOST:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
done

cat <<MSG

Loupe is running. Ctrl-C stops it.
  API root      http://acme.localhost:$PORT/api/v1/     (demo tenant acme, owner alice@example.com)
  Admin         http://localhost:$PORT/admin/            (operators; create one: .venv/bin/python manage.py createsuperuser)
  Tenant admin  http://acme.localhost:$PORT/admin/       (Sign in with your identity provider, pick alice@example.com)
  OpenAPI       http://localhost:$PORT/api/schema/  and docs at http://localhost:$PORT/api/docs/
  Health        http://localhost:$PORT/healthz  and  http://localhost:$PORT/readyz
  A token       DEV_ISSUER_ENABLED=true DEV_ISSUER_ALLOW_WITHOUT_DEBUG=true \\
                .venv/bin/python manage.py issue_token --tenant acme --email alice@example.com --role owner
  Predict       POST http://acme.localhost:$SERVING_PORT/api/v1/models/<name>/versions/<n>/predict/
                (the predict server; see docs/online-predict.md)

MSG
# The web server is the one that ends the run when it stops.
wait "${pids[-1]}"
