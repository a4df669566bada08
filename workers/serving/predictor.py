"""One image through one model version: the version found in this process's ModelCache, or
read from the registry and loaded from its artifact on its first call; a row's image read
from the tenant's storage; the forward on the process's device under inference mode.

Only a cold call asks the database (the version, a row): everything is read from the
primary, so a version registered or a row imported a moment ago is found whatever the
replica's lag.
"""

from __future__ import annotations

import logging
import time

import torch
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django_tenants.utils import tenant_context
from PIL import Image

from apps.datasets.models import DataRow
from apps.predictions.services import EXTERNAL_SPEC
from apps.training.models import Model, ModelVersion
from loupe.storage.files import local_copy
from tenants.models import Tenant
from workers.engines.base import Prediction
from workers.engines.registry import load_engine
from workers.serving.errors import PredictError, PredictErrorCode
from workers.serving.model_cache import Key, LoadedVersion, ModelCache

logger = logging.getLogger(__name__)


class Predictor:
    def __init__(self, *, capacity: int, device: str):
        self.device = device
        self.cache = ModelCache(capacity, on_evict=self._evicted)

    def version(self, tenant: Tenant, model_name: str, number: int) -> tuple[LoadedVersion, float]:
        """The loaded version, and the milliseconds this call spent loading it (0 when it
        was loaded already). Raises PredictError: 404 for an unknown model or version, 409
        for a version with no model to run, 500 for an artifact that will not load."""
        schema = tenant.schema_name
        found = self.cache.find((schema, model_name, number))
        if found is not None:
            return found, 0.0
        with tenant_context(tenant):
            version = _registered_version(model_name, number)
        started = time.perf_counter()
        loaded, loaded_now = self.cache.load(
            (schema, version.pk), lambda: self._load(schema, version)
        )
        return loaded, (time.perf_counter() - started) * 1000 if loaded_now else 0.0

    def forward(self, loaded: LoadedVersion, image: Image.Image) -> tuple[list[Prediction], float]:
        """The engine's predictions for the image, best first, and the forward's milliseconds
        (the engine's own resizing included)."""
        started = time.perf_counter()
        with torch.inference_mode():
            (predictions,) = loaded.engine.predict([image])
        return predictions, (time.perf_counter() - started) * 1000

    def _load(self, schema: str, version: ModelVersion) -> LoadedVersion:
        started = time.perf_counter()
        try:
            with local_copy(version.artifact) as path:
                engine = load_engine(version.spec, path, device=self.device)
            # One forward on a blank image as it loads, so that the version's first call
            # does not pay torch's one-off setup of its kernels.
            size = engine.hyperparameters["image_size"]
            with torch.inference_mode():
                engine.predict([Image.new("RGB", (size, size))])
        except Exception as exc:
            logger.exception(
                "model version would not load",
                extra={"model_version": version.pk, "artifact": version.artifact},
            )
            if isinstance(exc, FileNotFoundError):
                reason = "its artifact is missing from storage"
            else:
                reason = f"{type(exc).__name__} loading its artifact"
            raise PredictError(
                500,
                PredictErrorCode.ARTIFACT_UNLOADABLE,
                f"{version} could not be loaded ({reason}); quote the error_id.",
            ) from exc
        logger.info(
            "model version loaded",
            extra={
                "model_version": version.pk,
                "spec": version.spec,
                "device": self.device,
                "load_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return LoadedVersion(
            schema=schema,
            version_id=version.pk,
            model_name=version.model.name,
            number=version.version,
            engine=engine,
        )

    def _evicted(self, keys: list[Key]) -> None:
        logger.info("model versions evicted", extra={"versions": keys})
        if self.device.startswith("cuda"):
            # The evicted weights went back to torch's allocator; give them back to the
            # device, which other processes share.
            torch.cuda.empty_cache()


def _registered_version(model_name: str, number: int) -> ModelVersion:
    version = (
        ModelVersion.objects.using("default")
        .select_related("model")
        .filter(model__name=model_name, version=number)
        .first()
    )
    if version is None:
        if not Model.objects.using("default").filter(name=model_name).exists():
            raise PredictError(404, PredictErrorCode.UNKNOWN_MODEL, f"No model {model_name!r}.")
        raise PredictError(
            404,
            PredictErrorCode.UNKNOWN_MODEL_VERSION,
            f"Model {model_name!r} has no version {number}.",
        )
    if version.spec == EXTERNAL_SPEC or not version.artifact:
        raise PredictError(
            409,
            PredictErrorCode.NOT_RUNNABLE,
            f"{version} was imported from a file of predictions; it has no model to run.",
        )
    return version


def row_image(tenant: Tenant, row_id: int) -> bytes:
    """The stored image of one of the tenant's data rows. Raises PredictError (400) for a row
    the tenant does not have, or whose image is not in its storage or cannot be read."""
    with tenant_context(tenant):
        media = (
            DataRow.objects.using("default")
            .filter(pk=row_id)
            .values_list("media_uri", flat=True)
            .first()
        )
    if media is None:
        raise PredictError(400, PredictErrorCode.UNKNOWN_ROW, f"You have no data row {row_id}.")
    # A row may name any URI; only the tenant's own storage is read, as training reads it.
    if not media.startswith(f"{tenant.schema_name}/"):
        raise PredictError(
            400,
            PredictErrorCode.MEDIA_UNREADABLE,
            f"Row {row_id}'s image is not in this tenant's storage.",
        )
    try:
        with default_storage.open(media, "rb") as stored:
            return stored.read()
    except (OSError, SuspiciousFileOperation) as exc:
        raise PredictError(
            400,
            PredictErrorCode.MEDIA_UNREADABLE,
            f"Row {row_id}'s image could not be read ({type(exc).__name__}).",
        ) from exc
