"""The jobs list: every kind of job of the tenant together, newest first."""

from __future__ import annotations

from collections.abc import Iterator

from loupe_client.api import Api
from loupe_client.pages import list_items
from loupe_client.shapes import JobSummary

MAX_JOBS_PAGE = 500


class Jobs:
    def __init__(self, api: Api):
        self._api = api

    def list(
        self, *, kind: str | None = None, status: str | None = None, page_size: int = 100
    ) -> Iterator[JobSummary]:
        """`kind`: import, training_run, inference_run, evaluation, prediction_import."""
        params = {"kind": kind, "status": status, "page_size": min(page_size, MAX_JOBS_PAGE)}
        return list_items(self._api, "jobs/", params, item=JobSummary)
