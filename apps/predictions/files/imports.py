"""Prediction imports: accepting a file and recording its job (runs.py runs them)."""

from __future__ import annotations

import codecs
import uuid
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction

from apps.datasets.importers.validation import InvalidField
from apps.datasets.models import Dataset
from apps.jobs.events import append_event
from apps.jobs.kinds import kind_named
from apps.jobs.sending import send_job_on_commit
from apps.predictions.files.coco_results import check_categories
from apps.predictions.files.errors import PredictionFileError
from apps.predictions.files.versions import version_for_import
from apps.predictions.models import PREDICTION_IMPORT_KIND, PredictionFileFormat, PredictionImport
from apps.training.errors import TrainingErrorCode
from apps.training.services import MODEL_NAME
from loupe.api.errors import ApiError
from tenants.activation import active_schema

KIND = kind_named(PREDICTION_IMPORT_KIND)
_WHITESPACE = b" \t\r\n"


def _bad(code: PredictionFileError | TrainingErrorCode, detail: str, field: str, problem: str):
    return ApiError(status=400, code=code, detail=detail, fields={field: [problem]})


def start_prediction_import(
    *,
    dataset_id: int,
    format: str,
    upload,
    model: str,
    version: int | None = None,
    task: str | None = None,
    categories: object = None,
    actor,
) -> PredictionImport:
    """Record the import of an uploaded file of `model`'s predictions on the dataset's rows,
    and queue it once committed. Into `version` (an external one), or a new version
    numbered after the model's last, registering the model for `task` if it is new. Every
    input is checked first, the file's first bytes too: a refused import (ApiError 400
    naming the field; 409 for a trained version) stores nothing, no version either."""
    dataset = Dataset.objects.using("default").filter(pk=dataset_id).first()
    if dataset is None:
        raise _bad(
            PredictionFileError.UNKNOWN_DATASET, f"No dataset {dataset_id}.", "dataset", "unknown"
        )
    names = _categories(format, categories)
    _check_opening(upload, format)
    if not MODEL_NAME.match(model):
        raise _bad(
            TrainingErrorCode.INVALID_MODEL_NAME,
            "A model name is 1-100 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit.",
            "model",
            "invalid",
        )
    with transaction.atomic():
        target = version_for_import(
            model_name=model, number=version, task=task, classes=list(names.values())
        )
        folder = f"{active_schema()}/prediction-imports/{uuid.uuid4().hex}"
        file_name = default_storage.save(f"{folder}/{Path(upload.name).name}", upload)
        job = PredictionImport.objects.create(
            dataset=dataset,
            model_version=target,
            format=format,
            file_name=file_name,
            categories=[{"id": i, "name": name} for i, name in names.items()],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        append_event(job, KIND.name, f"{KIND.event_prefix}.queued", {"model_version": target.pk})
        send_job_on_commit(KIND.name, job.pk)
    return job


def _categories(format: str, value: object) -> dict[int, str]:
    if format != PredictionFileFormat.COCO:
        if value is not None:
            raise _bad(
                PredictionFileError.INVALID_CATEGORIES,
                "categories go with COCO results, whose category ids they name; a JSONL "
                "file names its classes itself.",
                "categories",
                "only for format=coco",
            )
        return {}
    if value is None:
        raise _bad(
            PredictionFileError.CATEGORIES_REQUIRED,
            "COCO results name classes by category_id: send the categories they were "
            'numbered by, as in the COCO dataset file: [{"id": 1, "name": "car"}, ...].',
            "categories",
            "required for format=coco",
        )
    try:
        return check_categories(value)
    except InvalidField as error:
        raise ApiError(
            status=400,
            code=PredictionFileError.INVALID_CATEGORIES,
            detail=f"The categories are not usable: {error.message}.",
            fields={error.field: [error.message]},
        ) from None


def _check_opening(upload, format: str) -> None:
    """Refuse a file whose first character already says it is not in `format` (a COCO
    dataset file sent as results, say) or that holds nothing."""
    first = _first_character(upload)
    if first is None:
        raise _bad(PredictionFileError.EMPTY_FILE, "The file holds nothing.", "file", "empty")
    if format == PredictionFileFormat.COCO and first != b"[":
        hint = "; this one is an object, as a COCO dataset file is" if first == b"{" else ""
        raise _bad(
            PredictionFileError.NOT_COCO_RESULTS,
            f"COCO results are one JSON array [{{image_id, category_id, bbox, score}}, ...]{hint}.",
            "file",
            "not a JSON array",
        )
    if format == PredictionFileFormat.JSONL and first == b"[":
        raise _bad(
            PredictionFileError.NOT_JSONL,
            "The file is a JSON array, not JSON Lines; for COCO results send format=coco.",
            "file",
            "a JSON array",
        )


def _first_character(upload) -> bytes | None:
    """The file's first byte that is not whitespace (after a UTF-8 byte order mark)."""
    for index, chunk in enumerate(upload.chunks()):
        rest = (chunk.removeprefix(codecs.BOM_UTF8) if index == 0 else chunk).lstrip(_WHITESPACE)
        if rest:
            return rest[:1]
    return None
