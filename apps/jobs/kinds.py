"""Every kind of job the platform runs, in one place: its model, the task that runs it, the
prefix of its lifecycle events and how many times a lost worker's job is taken again."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class JobKind:
    name: str
    model: str  # app_label.ModelName, resolved lazily: apps depend on jobs, not the reverse
    task: str
    queue: str
    event_prefix: str
    # A job taken this many times by workers that were then lost fails instead of resuming.
    max_attempts: int = 3

    def model_class(self):
        return apps.get_model(self.model)


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind(
            name="training_run",
            model="training.TrainingRun",
            task="workers.training.run_training",
            queue="gpu",
            event_prefix="run",
        ),
    )
}


def kind_named(name: str) -> JobKind:
    return KINDS[name]
