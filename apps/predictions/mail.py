"""What an inference run's and an evaluation's e-mails add (apps.jobs.mail): the version, the
snapshot and how far the job got; an evaluation's figures."""

from __future__ import annotations

from apps.jobs.mail import MailDetails
from apps.predictions.models import Evaluation, InferenceRun


def _source(job: InferenceRun | Evaluation) -> str:
    version = job.model_version
    return (
        f"Model: {version.model.name} version {version.version}, over snapshot "
        f"{job.snapshot.number} of slice {job.slice_id} ({job.rows_total:,} rows)"
    )


def inference_details(run: InferenceRun) -> MailDetails:
    return MailDetails(
        lines=[
            _source(run),
            f"Rows done: {run.rows_done:,} ({run.rows_skipped:,} skipped), predictions written: "
            f"{run.predictions_written:,}, on {run.device or 'no device yet'}",
        ]
    )


def evaluation_details(evaluation: Evaluation) -> MailDetails:
    figures = {k: v for k, v in evaluation.metrics.items() if isinstance(v, int | float)}
    lines = [_source(evaluation)]
    if figures:
        lines.append("Figures:")
        lines += [f"  {name}: {value:.4g}" for name, value in sorted(figures.items())]
    return MailDetails(lines=lines)
