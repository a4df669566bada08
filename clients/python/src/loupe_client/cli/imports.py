"""`loupe import FILE --dataset ID`: upload, then follow the import to its end."""

from __future__ import annotations

from pathlib import Path

import click

from loupe_client.cli.config import client_from_settings
from loupe_client.cli.exit_codes import ExitCode
from loupe_client.cli.output import emit, json_option
from loupe_client.resources.imports import FORMAT_BY_SUFFIX, format_of
from loupe_client.shapes import ImportJob

SHOWN_ERRORS = 5


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dataset", type=int, required=True, help="The dataset's id.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(sorted(set(FORMAT_BY_SUFFIX.values()))),
    help="Default: the one the file's suffix names.",
)
@click.option("--notify", is_flag=True, help="E-mail me when it ends.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
@click.pass_context
def import_file(
    ctx: click.Context,
    file: Path,
    dataset: int,
    file_format: str | None,
    notify: bool,
    quiet: bool,
) -> None:
    """Import FILE (jsonl, csv, coco or zip) into a dataset, with a progress bar moved by
    the import's live events. Exits 6 unless every record was imported."""
    try:
        file_format = file_format or format_of(file.name)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with client_from_settings() as client:
        job = client.imports.upload(dataset, file, format=file_format, notify=notify)
        job = client.imports.wait(job, progress=not quiet)
    emit(job, lambda: _summary(job))
    if job["status"] != "succeeded":
        ctx.exit(ExitCode.JOB_FAILED)


def _summary(job: ImportJob) -> str:
    lines = [
        f"import {job['id']} {job['status']}: {job['total']} records "
        f"({job['created']} created, {job['updated']} updated, {job['unchanged']} unchanged, "
        f"{job['failed']} failed)"
    ]
    if job["detail"]:
        lines.append(job["detail"])
    for error in job["errors"][:SHOWN_ERRORS]:
        lines.append(f"  at {error['line']}: {error.get('field') or '-'}: {error['message']}")
    return "\n".join(lines)
