"""The Celery app. Every task carries its tenant (tenant-schemas-celery puts the schema in
the task headers) and runs with that tenant active on both database aliases.

Workers start from the repository root with platform/ on the path, e.g.
`PYTHONPATH=platform celery -A loupe.celery worker -Q default,index,gpu`.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupe.settings")

from celery.signals import task_prerun
from django.conf import settings
from django.db import connection
from kombu import Queue
from tenant_schemas_celery.app import CeleryApp

from loupe import log_context
from loupe.db import pinning
from loupe.db.replica_health import replica_has_replayed
from loupe.dispatch import PRIMARY_LSN_HEADER

app = CeleryApp("loupe", task_cls="tenants.celery_task:PrimaryTenantTask")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "index", "gpu")

app.conf.update(
    include=[
        "workers.system",
        "workers.imports",
        "workers.indexing",
        "workers.jobs",
        "workers.training",
        "workers.inference",
        "workers.evaluation",
        "workers.prediction_imports",
        "workers.notifications",
        "workers.webhooks",
    ],
    task_queues=[Queue(name) for name in QUEUES],
    task_default_queue="default",
    task_routes={
        "workers.indexing.*": {"queue": "index"},
        "workers.training.*": {"queue": "gpu"},
        "workers.inference.*": {"queue": "gpu"},
    },
    task_tenant_databases=("default", "replica"),
    task_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    # A task is acknowledged when it ends, so a lost worker's task runs again elsewhere.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    # With acks_late, Redis hands an unacknowledged task to another worker after this long:
    # longer than any import or training run (a second runner is refused by a job lock).
    broker_transport_options={"visibility_timeout": 12 * 3600},
    # The catch-alls for index drains and jobs lost with a worker (run by beat, or by
    # `celery worker -B`). A sweep not started by the time the next is sent is dropped, so
    # busy workers never face a backlog of them.
    beat_schedule={
        "sweep-outboxes": {
            "task": "workers.indexing.sweep_outboxes",
            "schedule": settings.SEARCH_SWEEP_SECONDS,
            "options": {"queue": "index", "expires": settings.SEARCH_SWEEP_SECONDS},
        },
        "sweep-jobs": {
            "task": "workers.jobs.sweep_jobs",
            "schedule": settings.JOB_SWEEP_SECONDS,
            "options": {"queue": "default", "expires": settings.JOB_SWEEP_SECONDS},
        },
        "sweep-webhook-deliveries": {
            "task": "workers.webhooks.sweep_deliveries",
            "schedule": settings.WEBHOOK_SWEEP_SECONDS,
            "options": {"queue": "default", "expires": settings.WEBHOOK_SWEEP_SECONDS},
        },
    },
)


def _header(task, name: str):
    # With the Redis broker, headers may be merged into the request itself.
    headers = task.request.headers or {}
    return headers.get(name, task.request.get(name))


@task_prerun.connect
def _start_task_context(task_id=None, task=None, **kwargs) -> None:
    """Each task starts unpinned (its reads go to the replica until its first write) unless
    the replica has not yet replayed the commit that enqueued it; its log lines carry its id
    and tenant. Runs after tenant-schemas-celery's own handler activated the task's tenant."""
    pinning.start_unpinned()
    lsn = _header(task, PRIMARY_LSN_HEADER)
    if lsn and not replica_has_replayed(lsn):
        pinning.pin_to_primary()
    log_context.job.set(task_id)
    log_context.tenant.set(connection.schema_name)
