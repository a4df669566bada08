"""Every kind of job the platform runs, in one place: its model, the task that runs it, the
prefix of its lifecycle events and how many times a lost worker's job is taken again."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class JobKind:
    name: str
    model: str  # app_label.ModelName, resolved lazily: apps depend on jobs, not the reverse
    task: str
    queue: str
    event_prefix: str
    # Where the API answers one job of the kind: /api/v1/<resource path>/<id>/.
    resource_path: str
    # A job taken this many times by workers that were then lost fails instead of resuming.
    max_attempts: int = 3
    # The statuses a worker holds the job in.
    active_statuses: tuple[str, ...] = ("running", "cancelling")
    # What recovers one of this kind's jobs whose worker was lost, when its model is not a
    # `Job` (dotted path to `f(job, kind) -> "requeued" | "failed"`); the sweep's own else.
    on_lost: str = ""
    # What the kind adds to the e-mail its job's submitter asked for (dotted path to
    # `f(job) -> apps.jobs.mail.MailDetails`); the e-mail's common part alone when empty.
    mail_details: str = ""

    def model_class(self):
        return apps.get_model(self.model)

    def mail_details_of(self, job):
        return import_string(self.mail_details)(job)

    def lost_handler(self):
        return import_string(self.on_lost) if self.on_lost else None


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind(
            name="training_run",
            model="training.TrainingRun",
            task="workers.training.run_training",
            queue="gpu",
            event_prefix="run",
            resource_path="training-runs",
            mail_details="apps.training.mail.run_details",
        ),
        JobKind(
            name="import",
            model="datasets.ImportJob",
            task="workers.imports.run_import",
            queue="default",
            event_prefix="import",
            resource_path="imports",
            active_statuses=("running",),
            on_lost="apps.datasets.import_runs.recover_lost_import",
            mail_details="apps.datasets.mail.import_details",
        ),
        JobKind(
            name="inference_run",
            model="predictions.InferenceRun",
            task="workers.inference.run_inference",
            queue="gpu",
            event_prefix="inference",
            resource_path="inference-runs",
            mail_details="apps.predictions.mail.inference_details",
        ),
        JobKind(
            name="evaluation",
            model="predictions.Evaluation",
            task="workers.evaluation.run_evaluation",
            queue="default",
            event_prefix="evaluation",
            resource_path="evaluations",
            mail_details="apps.predictions.mail.evaluation_details",
        ),
        JobKind(
            name="prediction_import",
            model="predictions.PredictionImport",
            task="workers.prediction_imports.run_prediction_import",
            queue="default",
            event_prefix="import",
            resource_path="prediction-imports",
        ),
    )
}


def kind_named(name: str) -> JobKind:
    return KINDS[name]
