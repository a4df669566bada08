#!/usr/bin/env bash
# `make run`: migrate, ensure the demo tenant, then serve HTTP + WebSocket and run the
# workers (default and index queues with beat; the gpu queue). Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

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

# Each worker is restarted when it dies (a training run killed for memory, say), as a
# container restart policy would; the job sweep then resumes what it was running.
supervise() {
  local name=$1
  shift
  while true; do
    "$@" || true
    echo "[run] $name worker exited; restarting in 2 s"
    sleep 2
  done
}

# The default and index queues, with beat (the periodic outbox and job sweeps).
supervise default .venv/bin/celery -A loupe.celery worker -n default@%h -Q default,index \
  --concurrency 2 --loglevel INFO -B --schedule .local/celerybeat-schedule &
pids+=($!)
# The gpu queue: one training run per device at a time (prefetch 1).
supervise gpu .venv/bin/celery -A loupe.celery worker -n gpu@%h -Q gpu --concurrency 1 \
  --prefetch-multiplier 1 --loglevel INFO &
pids+=($!)
.venv/bin/uvicorn --app-dir platform loupe.asgi:application --host "$HOST" --port "$PORT" \
  --no-access-log &
pids+=($!)

for _ in $(seq 1 100); do
  curl -sf "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

cat <<MSG

Loupe is running. Ctrl-C stops it.
  API root      http://acme.localhost:$PORT/api/v1/     (demo tenant acme, owner alice@example.com)
  Admin         http://localhost:$PORT/admin/            (operators; create one: .venv/bin/python manage.py createsuperuser)
  Tenant admin  http://acme.localhost:$PORT/admin/
  OpenAPI       http://localhost:$PORT/api/schema/  and docs at http://localhost:$PORT/api/docs/
  Health        http://localhost:$PORT/healthz  and  http://localhost:$PORT/readyz

MSG
# The web server is the one that ends the run when it stops.
wait "${pids[-1]}"
