"""`loupe jobs`: the tenant's jobs of every kind, newest first."""

from __future__ import annotations

from itertools import islice
from typing import Any

import click

from loupe_client.cli.config import client_from_settings
from loupe_client.cli.output import emit, json_option, table
from loupe_client.shapes import JobSummary

KINDS = ["import", "training_run", "inference_run", "evaluation", "prediction_import"]
STATUSES = [
    "queued", "running", "cancelling", "succeeded", "failed", "cancelled", "partially_failed"
]  # fmt: skip


@click.command()
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
def jobs(kind: str | None, status: str | None, limit: int) -> None:
    """The newest jobs, with their progress."""
    with client_from_settings() as client:
        found = list(islice(client.jobs.list(kind=kind, status=status, page_size=limit), limit))
    emit(found, lambda: _listing(found))


def _listing(found: list[JobSummary]) -> str:
    if not found:
        return "no jobs"
    cells = [
        [job["kind"], job["id"], job["status"], _progress(job["progress"]), job["created_at"]]
        for job in found
    ]
    return table(cells, ["kind", "id", "status", "progress", "created"])


def _progress(progress: dict[str, Any]) -> str:
    total = progress.get("total")
    done = progress.get("done", 0)
    return (
        f"{done}/{total} {progress['unit']}" if total is not None else f"{done} {progress['unit']}"
    )
