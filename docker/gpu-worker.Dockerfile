# syntax=docker/dockerfile:1
# Loupe GPU worker: Celery on the `gpu` queue (training, inference), with torch.
# Build from the repository root (docker/compose.yaml does, under the `gpu` profile):
#   docker build -f docker/gpu-worker.Dockerfile -t loupe-gpu-worker .
#
# Base image: torch 2.15's Linux wheels are CUDA 13.2 builds that bring their own CUDA runtime,
# cuDNN and NCCL as pip packages (nvidia-*-cu13), so the image needs no CUDA libraries of its
# own: the small `base` flavour suffices. Its CUDA major must match the wheels' (13), because
# it sets NVIDIA_REQUIRE_CUDA=cuda>=13.0: the NVIDIA container runtime then refuses to start
# the container on a host driver too old for CUDA 13 (< 580), instead of torch failing later.
# Override with --build-arg CUDA_IMAGE=... when torch's CUDA version changes.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-base-ubuntu24.04
FROM ${CUDA_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Python 3.11 from uv (a standalone CPython build): Ubuntu's own python3 is another version,
# and uv needs no PPA. Installed under /opt so the non-root user can run it.
COPY --from=ghcr.io/astral-sh/uv:0.9.26 /uv /usr/local/bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app/platform:/app \
    DJANGO_SETTINGS_MODULE=loupe.settings
RUN uv python install 3.11 && uv venv --python 3.11 /opt/venv

RUN groupadd --system --gid 10001 loupe \
    && useradd --system --uid 10001 --gid loupe --create-home --shell /usr/sbin/nologin loupe

WORKDIR /app

# worker.txt = base.txt + torch + torchvision (several GB with the CUDA wheels).
COPY requirements/base.txt requirements/worker.txt requirements/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --python /opt/venv/bin/python -r requirements/worker.txt

COPY . .
RUN mkdir -p .local /var/lib/loupe/media && chown loupe:loupe .local /var/lib/loupe/media

# HOME (/home/loupe) is writable for torch's caches.
USER loupe

HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 \
    CMD celery -A loupe.celery inspect ping --destination "celery@$HOSTNAME" --timeout 10 >/dev/null || exit 1

# One process per GPU: a second would share the device's memory with the first. The pool
# forks its child at start, so tasks code must leave CUDA alone at import time (importing torch
# is fine; touching torch.cuda in the parent before the fork is not).
CMD ["celery", "-A", "loupe.celery", "worker", "-Q", "gpu", "--concurrency", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO"]
