"""What a training run's e-mail adds (apps.jobs.mail): its model version, final metrics and
the PNG of its metric curves."""

from __future__ import annotations

from apps.jobs.mail import MailDetails
from apps.training.curves import curves_png
from apps.training.models import EpochMetric, ModelVersion, TrainingRun


def run_details(run: TrainingRun) -> MailDetails:
    lines = [f"Spec: {run.spec}, epochs {run.epoch} of {run.hyperparameters.get('epochs', '?')}"]
    version = ModelVersion.objects.using("default").filter(training_run=run).first()
    if version is not None:
        lines.append(f"Model: {run.model_name} version {version.version}")
    if run.metrics:
        lines.append("Final metrics:")
        lines += [f"  {name}: {_shown(value)}" for name, value in sorted(run.metrics.items())]
    epochs = list(
        EpochMetric.objects.using("default")
        .filter(run=run)
        .order_by("epoch")
        .values_list("epoch", "metrics")
    )
    if not epochs:
        return MailDetails(lines=lines)
    names = sorted({name for _, metrics in epochs for name in metrics})
    series = {name: [metrics.get(name) for _, metrics in epochs] for name in names}
    png = curves_png([epoch for epoch, _ in epochs], series)
    lines.append("Its metric curves are attached (curves.png).")
    return MailDetails(lines=lines, attachments=[("curves.png", png, "image/png")])


def _shown(value) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else str(value)
