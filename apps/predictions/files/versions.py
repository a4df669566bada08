"""The model version a file's predictions are imported under: an "external" version, one
that no training made and that has no artifact (nothing to run: its predictions come from
files)."""

from __future__ import annotations

from django.db.models import Max

from apps.predictions.files.errors import PredictionFileError
from apps.predictions.services import EXTERNAL_SPEC
from apps.training.errors import TrainingErrorCode
from apps.training.models import Model, ModelVersion
from loupe.api.errors import ApiError


def _bad(code, detail: str, field: str, problem: str, status: int = 400) -> ApiError:
    return ApiError(status=status, code=code, detail=detail, fields={field: [problem]})


def version_for_import(
    *, model_name: str, number: int | None, task: str | None, classes: list[str]
) -> ModelVersion:
    """Version `number` of the model, which must be external; or, without `number`, a new
    external version numbered after the model's last, its classes `classes` (the model is
    registered for `task` if it is new). Call inside a transaction: the new number is taken
    under a lock on the model, as a training's is. Raises ApiError 400 (unknown version,
    task missing or not the model's), 409 for a version a training made."""
    model = Model.objects.using("default").filter(name=model_name).first()
    if model is not None and task and model.task != task:
        raise _bad(
            TrainingErrorCode.MODEL_TASK_MISMATCH,
            f"Model {model_name!r} is a {model.task} model, not {task}. Name another model.",
            "task",
            "not the model's task",
        )
    if number is not None:
        return _existing(model, model_name, number)
    if model is None:
        if not task:
            raise _bad(
                PredictionFileError.TASK_REQUIRED,
                f"There is no model {model_name!r} yet: send its task (classification or "
                "detection) to register it.",
                "task",
                "required for a new model",
            )
        model, _ = Model.objects.using("default").get_or_create(
            name=model_name, defaults={"task": task}
        )
    Model.objects.using("default").select_for_update().filter(pk=model.pk).get()
    versions = ModelVersion.objects.using("default").filter(model=model)
    last = versions.aggregate(last=Max("version"))["last"] or 0
    return ModelVersion.objects.using("default").create(
        model=model, version=last + 1, spec=EXTERNAL_SPEC, classes=classes, artifact=""
    )


def _existing(model: Model | None, model_name: str, number: int) -> ModelVersion:
    versions = ModelVersion.objects.using("default").filter(model=model, version=number)
    version = None if model is None else versions.first()
    if version is None:
        raise _bad(
            PredictionFileError.UNKNOWN_VERSION,
            f"Model {model_name!r} has no version {number}; leave version out to import "
            "into a new one.",
            "version",
            "unknown",
        )
    if version.spec != EXTERNAL_SPEC:
        raise _bad(
            PredictionFileError.VERSION_NOT_EXTERNAL,
            f"Version {number} of {model_name!r} was trained ({version.spec}): its "
            "predictions come from its inference runs. Import into an external version.",
            "version",
            "trained, not external",
            status=409,
        )
    return version
