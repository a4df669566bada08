"""The tenant admin's live jobs page: the jobs running now and the latest to end, of every
kind, their progress bars kept current by the page's script over the jobs' sockets and the
tenant's event feed (the admin session authenticates them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse

from apps.jobs import selectors
from apps.jobs.kinds import KINDS
from apps.jobs.models import JobListing
from tenants.admin_sites import tenant_admin_site

ACTIVE = ("queued", "running", "cancelling")
RECENT = 30
# The kinds whose progress has a socket: ws/<resource path>/<id>/.
_FOLLOWED = {"import", "training_run", "inference_run", "evaluation"}


@dataclass(frozen=True)
class JobRow:
    job: JobListing
    page: str
    socket: str
    after: int


def jobs_page(request) -> TemplateResponse:
    active = list(selectors.jobs().filter(status__in=ACTIVE).order_by("-created_at")[:200])
    ended = list(selectors.jobs().exclude(status__in=ACTIVE).order_by("-created_at")[:RECENT])
    seqs = _event_seqs(active)
    context = {
        **tenant_admin_site.each_context(request),
        "title": "Jobs",
        "active": [_row(job, seqs) for job in active],
        "ended": [_row(job, seqs) for job in ended],
    }
    template = "live/job_rows.html" if request.GET.get("rows") else "live/jobs.html"
    return TemplateResponse(request, template, context)


def _row(job: JobListing, seqs: dict[tuple[str, int], int]) -> JobRow:
    live = job.kind in _FOLLOWED and job.status in ACTIVE
    return JobRow(
        job=job,
        page=_page_of(job),
        socket=f"/ws/{KINDS[job.kind].resource_path}/{job.job_id}/" if live else "",
        after=seqs.get((job.kind, job.job_id), 0),
    )


def _page_of(job: JobListing) -> str:
    if job.kind == "training_run":
        return reverse("live-run", args=[job.job_id])
    meta = KINDS[job.kind].model_class()._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[job.job_id])
    except NoReverseMatch:
        return ""


def _event_seqs(jobs: list[JobListing]) -> dict[tuple[str, int], int]:
    """Each active job's last event seq, so its socket sends what comes after: one query
    per kind that keeps a stored event stream."""
    seqs = {}
    for kind in {job.kind for job in jobs}:
        model = KINDS[kind].model_class()
        if not hasattr(model, "event_seq"):
            continue
        ids = [job.job_id for job in jobs if job.kind == kind]
        for pk, seq in model.objects.filter(pk__in=ids).values_list("pk", "event_seq"):
            seqs[(kind, pk)] = seq
    return seqs
