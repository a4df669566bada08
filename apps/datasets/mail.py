"""What an import's e-mail adds (apps.jobs.mail): the dataset, what became of its records,
why the file was refused or stopped, and its first row errors."""

from __future__ import annotations

from apps.datasets.models import ImportJob
from apps.jobs.mail import MailDetails

# Row errors named in the mail; the job (`GET /api/v1/imports/<id>/`) has up to 1,000.
SHOWN_ERRORS = 5


def import_details(job: ImportJob) -> MailDetails:
    dataset = job.dataset
    lines = [
        f"Dataset: {dataset.name} (project {dataset.project.name}), format {job.format}",
        f"Records: {job.total:,} read: {job.created:,} created, {job.updated:,} updated, "
        f"{job.unchanged:,} unchanged, {job.failed:,} failed",
    ]
    if job.detail:
        lines.append(f"Error: {job.detail}")
    if job.errors:
        lines.append(f"First row errors (of {job.failed:,}):")
        lines += [
            f"  line {e['line']}{f' ({f})' if (f := e.get('field')) else ''}: {e['message']}"
            for e in job.errors[:SHOWN_ERRORS]
        ]
    return MailDetails(lines=lines)
