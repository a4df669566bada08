"""Online predict: one image (or one stored row) through one model version, answered at
once by the predict server (docs/online-predict.md). The predict server is its own process,
at its own base URL: locally the API's host on port 8001; in a deployment usually the API's
own URL, its load balancer routing the predict path there."""

from __future__ import annotations

import os
from typing import IO, cast
from urllib.parse import quote

from loupe_client.api import Api
from loupe_client.shapes import OnlinePrediction

Image = bytes | str | os.PathLike[str] | IO[bytes]


class OnlinePredict:
    """`client.predict(model, version, image=...)` or `client.predict(model, version, row=id)`."""

    def __init__(self, api: Api):
        self._api = api

    def __call__(
        self, model: str, version: int, *, image: Image | None = None, row: int | None = None
    ) -> OnlinePrediction:
        """The version's predictions for an image (bytes, a path or a binary file object)
        or for one of the tenant's rows (its stored image), best first. Give exactly one.
        The API's port answers 421 `served_by_predict_server` when `predict_url` points at
        it instead of the predict server."""
        if (image is None) == (row is None):
            raise ValueError("give exactly one of image= or row=")
        path = f"models/{quote(model)}/versions/{version}/predict/"
        if image is None:
            return cast(OnlinePrediction, self._api.call("POST", path, json={"row": row}))
        if isinstance(image, str | os.PathLike):
            with open(image, "rb") as opened:
                return self(model, version, image=opened.read())
        content = image if isinstance(image, bytes) else image.read()
        files = {"image": ("image", content)}
        return cast(OnlinePrediction, self._api.call("POST", path, files=files))
