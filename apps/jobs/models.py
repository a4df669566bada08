"""What every long-running job shares: a lifecycle, a heartbeat, and a stored event stream.

A job kind's model inherits `Job`; its events are `JobEvent` rows numbered 1, 2, 3, ... per
job with no gap (the job row's `event_seq` is taken and the event inserted in one
transaction), so a follower that saw event N knows exactly what it has missed.
"""

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
# A worker holds a job in these; a stale heartbeat in them means the worker was lost.
ACTIVE_STATUSES = frozenset({JobStatus.RUNNING, JobStatus.CANCELLING})


class Job(models.Model):
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    error = models.TextField(blank=True, help_text="`code: message`, once failed")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the broker took the job's task, or the job was made by what runs it (null: not
    # yet sent; the job sweep sends it).
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why a queued job waits, when a worker took it and left it queued (its tenant's limit).
    waiting_for = models.TextField(blank=True)
    # Written by the worker's heartbeat thread while it holds the job.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker took the job (a resume after a lost worker counts).
    attempts = models.PositiveIntegerField(default=0)
    event_seq = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True


class JobEvent(models.Model):
    """One event of one job: `seq` counts from 1 per (kind, job) with no gap."""

    kind = models.CharField(max_length=32)
    job_id = models.BigIntegerField()
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "job_id", "seq"], name="job_event_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.job_id} #{self.seq} {self.type}"


class JobListing(models.Model):
    """Every job of the tenant, whatever its kind, as one row: a database view over the
    kinds' tables (migration 0002), read-only. `done` of `total` counts the kind's `unit`;
    the total is null while unknown (a file being read)."""

    key = models.CharField(max_length=64, primary_key=True)  # "<kind>:<id>"
    kind = models.CharField(max_length=32)
    job_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    done = models.BigIntegerField()
    total = models.BigIntegerField(null=True)
    unit = models.CharField(max_length=16)
    error = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "jobs_joblisting"

    def __str__(self) -> str:
        return f"{self.kind} {self.job_id} ({self.status})"
