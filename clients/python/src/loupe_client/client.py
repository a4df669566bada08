"""The client: one tenant of one platform, signed in with an API key or a bearer token."""

from __future__ import annotations

import os
from typing import cast

from loupe_client.api import Api, base_url_of
from loupe_client.auth import ApiKeySession, BearerToken, Credentials
from loupe_client.resources.datasets import Datasets
from loupe_client.resources.imports import Imports
from loupe_client.resources.jobs import Jobs
from loupe_client.resources.models import Models
from loupe_client.resources.predict import OnlinePredict
from loupe_client.resources.predictions import Evaluations, InferenceRuns
from loupe_client.resources.projects import Projects
from loupe_client.resources.rows import Rows
from loupe_client.resources.search import Search
from loupe_client.resources.slices import Slices
from loupe_client.resources.training import TrainingRuns
from loupe_client.shapes import Me

DEFAULT_TIMEOUT = 30.0


class Client:
    """A tenant's API at `url`, its own host (`http://acme.localhost:8000` locally), with
    exactly one of `api_key` (traded for session tokens, renewed before they expire) or
    `token` (a bearer token, used as it is). `predict_url` is the predict server's base URL
    for `predict` (the API's own URL by default, as behind a deployment's load balancer).

        with Client("http://acme.localhost:8000", api_key="lk_...") as loupe:
            for row in loupe.search("label(class = '7')"):
                ...
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        predict_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        if (api_key is None) == (token is None):
            raise ValueError("give exactly one of api_key= or token=")
        credentials: Credentials = (
            ApiKeySession(api_key, base_url=base_url_of(url))
            if api_key is not None
            else BearerToken(cast(str, token))
        )
        self.api = Api(url, auth=credentials, timeout=timeout)
        self.predict_api = Api(predict_url or url, auth=credentials, timeout=timeout)
        self.projects = Projects(self.api)
        self.datasets = Datasets(self.api)
        self.rows = Rows(self.api)
        self.imports = Imports(self.api)
        self.search = Search(self.api)
        self.slices = Slices(self.api)
        self.training_runs = TrainingRuns(self.api)
        self.models = Models(self.api)
        self.inference_runs = InferenceRuns(self.api)
        self.evaluations = Evaluations(self.api)
        self.jobs = Jobs(self.api)
        self.predict = OnlinePredict(self.predict_api)

    @classmethod
    def from_env(cls, *, timeout: float = DEFAULT_TIMEOUT) -> Client:
        """A client from `LOUPE_URL` and `LOUPE_API_KEY` or `LOUPE_TOKEN` (and
        `LOUPE_PREDICT_URL`, when set); ValueError naming what is missing."""
        url = os.environ.get("LOUPE_URL")
        if not url:
            raise ValueError("set LOUPE_URL to the tenant's API, e.g. http://acme.localhost:8000")
        api_key, token = os.environ.get("LOUPE_API_KEY"), os.environ.get("LOUPE_TOKEN")
        if not api_key and not token:
            raise ValueError("set LOUPE_API_KEY (or LOUPE_TOKEN)")
        return cls(
            url,
            api_key=api_key or None,
            token=None if api_key else token,
            predict_url=os.environ.get("LOUPE_PREDICT_URL") or None,
            timeout=timeout,
        )

    def me(self) -> Me:
        """Who the credentials are: the user, the tenant, the role, and the API key if any."""
        return cast(Me, self.api.call("GET", "me/"))

    def close(self) -> None:
        self.api.close()
        self.predict_api.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
