# syntax=docker/dockerfile:1
# Loupe CPU worker: Celery on the `default` and `index` queues. No torch: requirements/base.txt
# only (torch is imported by the `gpu` queue's tasks alone; see gpu-worker.Dockerfile).
# Build from the repository root (docker/compose.yaml does):
#   docker build -f docker/worker.Dockerfile -t loupe-worker .
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app/platform:/app \
    DJANGO_SETTINGS_MODULE=loupe.settings

RUN groupadd --system --gid 10001 loupe \
    && useradd --system --uid 10001 --gid loupe --create-home --shell /usr/sbin/nologin loupe

WORKDIR /app

COPY requirements/base.txt requirements/base.txt
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements/base.txt

COPY . .
RUN mkdir -p .local /var/lib/loupe/media && chown loupe:loupe .local /var/lib/loupe/media

# Non-root: Celery also warns when it runs as root.
USER loupe

# The worker answers a broker ping (through Redis) under its default node name
# celery@<container hostname>; the control message is handled by the main process, so a
# worker busy with long tasks still answers.
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD celery -A loupe.celery inspect ping --destination "celery@$HOSTNAME" --timeout 10 >/dev/null || exit 1

# Concurrency defaults to the CPU count; override with `--concurrency N` in the command.
CMD ["celery", "-A", "loupe.celery", "worker", "-Q", "default,index", "--loglevel", "INFO"]
