"""The e-mail a job's submitter asked for (`notify`) when the job ends: what ended and how,
its timings, what its kind adds (a training run: its model, final metrics and curves), and
links to it. Sent by a task on the default queue once the end commits (apps.jobs.lifecycle)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection

from apps.jobs.kinds import JobKind, kind_named
from loupe.dispatch import enqueue_on_commit
from tenants.models import Membership

MAIL_TASK = "workers.notifications.mail_job_result"


@dataclass
class MailDetails:
    """What a kind adds to its job's e-mail: lines of text, and attachments as
    (file name, content, MIME type)."""

    lines: list[str] = field(default_factory=list)
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


def mail_on_commit(job, kind: JobKind) -> None:
    """Call inside the transaction that ends the job: its submitter's e-mail is sent once it
    commits, if they asked for one."""
    if getattr(job, "notify", False) and job.created_by_id:
        enqueue_on_commit(MAIL_TASK, kwargs={"kind": kind.name, "job_id": job.pk}, queue="default")


def job_result_mail(kind_name: str, job_id: int) -> EmailMessage | None:
    """The e-mail for the ended job, or None when there is no one to send it to: the job is
    gone, or its submitter is no longer an active member of the tenant."""
    kind = kind_named(kind_name)
    job = (
        kind.model_class()
        .objects.using("default")
        .select_related("created_by")
        .filter(pk=job_id)
        .first()
    )
    tenant = connection.tenant
    if job is None or not _still_a_member(job.created_by, tenant):
        return None
    noun = job._meta.verbose_name
    title = f'{noun} {job.pk} "{job.name}"' if getattr(job, "name", "") else f"{noun} {job.pk}"
    details = kind.mail_details_of(job) if kind.mail_details else MailDetails()
    lines = [
        f"{title[0].upper()}{title[1:]} in {tenant.name} {job.status}.",
        "",
        f"Submitted: {job.created_at:%Y-%m-%d %H:%M:%S %Z}",
        f"Started:   {job.started_at:%Y-%m-%d %H:%M:%S %Z}" if job.started_at else "Never started",
        f"Ended:     {job.finished_at:%Y-%m-%d %H:%M:%S %Z}",
        # An import has no `error`: its kind's details say why it failed.
        *([f"Error: {job.error}"] if getattr(job, "error", "") else []),
        *(["", *details.lines] if details.lines else []),
        "",
        f"Its page: {_tenant_url(tenant)}/admin/{job._meta.app_label}/{job._meta.model_name}/"
        f"{job.pk}/change/",
        f"In the API: {_tenant_url(tenant)}/api/v1/{kind.resource_path}/{job.pk}/",
    ]
    message = EmailMessage(
        subject=" ".join(f"[Loupe] {title} {job.status}".split()),  # a name may hold newlines
        body="\n".join(lines) + "\n",
        to=[job.created_by.email],
    )
    for name, content, mimetype in details.attachments:
        message.attach(name, content, mimetype)
    return message


def _still_a_member(user, tenant) -> bool:
    return (
        user is not None
        and user.is_active
        and bool(user.email)
        and Membership.objects.using("default").filter(user=user, tenant=tenant).exists()
    )


def _tenant_url(tenant) -> str:
    """The tenant's own host, with PUBLIC_URL's scheme and port (PUBLIC_URL itself for a
    tenant without a primary host)."""
    public = urlsplit(settings.PUBLIC_URL)
    domain = tenant.get_primary_domain()
    if domain is None:
        return settings.PUBLIC_URL.rstrip("/")
    port = f":{public.port}" if public.port else ""
    return f"{public.scheme}://{domain.domain}{port}"
