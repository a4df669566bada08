"""An import's events over WebSocket: `ws/imports/<id>/?after=N`, its stored events after N
(`import.queued`, `import.started`, an `import.progress` per committed batch, its end), then
the live ones, as every kind of job's (apps/jobs/consumers.py)."""

from apps.jobs.consumers import JobEventsConsumer


class ImportEventsConsumer(JobEventsConsumer):
    resource, kind = "datasets", "import"
