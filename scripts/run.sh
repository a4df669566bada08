#!/usr/bin/env bash
# `make run`: migrate, ensure the demo tenant, then serve HTTP + WebSocket and run a worker.
# Ctrl-C stops both.
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
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

.venv/bin/celery -A loupe.celery worker -Q default,index,gpu --concurrency 2 --loglevel INFO \
  -B --schedule .local/celerybeat-schedule &
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
wait -n "${pids[@]}"
