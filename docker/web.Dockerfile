# syntax=docker/dockerfile:1
# Loupe web tier: the ASGI server (HTTP + WebSocket). No torch: requirements/base.txt only.
# Build from the repository root (docker/compose.yaml does):
#   docker build -f docker/web.Dockerfile -t loupe-web .
FROM python:3.11-slim

# platform/ holds the configuration package `loupe` and is not itself a package: it goes on
# the path beside the repository root (as the Makefile does).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app/platform:/app \
    DJANGO_SETTINGS_MODULE=loupe.settings

RUN groupadd --system --gid 10001 loupe \
    && useradd --system --uid 10001 --gid loupe --create-home --shell /usr/sbin/nologin loupe

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Every pin has a manylinux
# wheel for CPython 3.11, so the slim image needs no compiler.
COPY requirements/base.txt requirements/base.txt
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements/base.txt

COPY . .
# The code stays root-owned (read-only to the app); .local/ is the one place it writes
# (collectstatic, the development OIDC issuer's keys).
RUN mkdir -p .local /var/lib/loupe/oidc /var/lib/loupe/media && chown loupe:loupe .local /var/lib/loupe/oidc /var/lib/loupe/media

USER loupe
EXPOSE 8000

# Liveness only: /healthz answers on any host, before tenant resolution. Python, because the
# slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# The app logs every request itself (with tenant and user), so uvicorn's access log is off.
# One process per core the container may use (Django serves each process's sync views on
# one thread), or WEB_CONCURRENCY processes; the sockets' groups are shared through Redis.
CMD ["sh", "-c", "exec uvicorn --app-dir platform loupe.asgi:application --host 0.0.0.0 --port 8000 --no-access-log --workers \"${WEB_CONCURRENCY:-$(nproc)}\""]
