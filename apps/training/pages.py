"""The tenant admin's live pages for training: a run's curves and events as they happen, and
an experiment's runs overlaid beside their comparison. Rendered here; kept live by the page's
script over the runs' sockets (the admin session authenticates them)."""

from __future__ import annotations

from django.http import Http404
from django.template.response import TemplateResponse

from apps.training import selectors
from apps.training.models import TrainingRun
from loupe.api.errors import ApiError
from tenants.admin_sites import tenant_admin_site


def run_page(request, run_id: int) -> TemplateResponse:
    run = TrainingRun.objects.defer("train_row_ids", "validation_row_ids").filter(pk=run_id).first()
    if run is None:
        raise Http404
    epochs = run.hyperparameters.get("epochs")
    context = {
        **tenant_admin_site.each_context(request),
        "title": f"Training run {run.pk}: {run.name}",
        "run": run,
        "epochs": epochs,
        "page": {"socket": f"/ws/training-runs/{run.pk}/", "epochs": epochs},
    }
    return TemplateResponse(request, "live/run.html", context)


def experiment_page(request, name: str) -> TemplateResponse:
    try:
        comparison = selectors.experiment_comparison(name=name)
    except ApiError as exc:
        raise Http404 from exc
    metrics = sorted({metric for run in comparison["runs"] for metric in run["metrics"]})
    context = {
        **tenant_admin_site.each_context(request),
        "title": f"Experiment {name}",
        "comparison": comparison,
        "metrics": metrics,
        "finals": [
            {"name": metric, "values": [run["metrics"].get(metric) for run in comparison["runs"]]}
            for metric in metrics
        ],
        "page": {
            "runs": [
                {
                    "id": run["id"],
                    "name": run["name"],
                    "epochs": run["epochs"],
                    "series": run["series"],
                    "live": run["status"] in ("queued", "running", "cancelling"),
                }
                for run in comparison["runs"]
            ]
        },
    }
    return TemplateResponse(request, "live/experiment.html", context)
