"""What every kind of job shares: read it, read or follow its events, wait for its end.
Imports, training runs, inference runs and evaluations each have `/api/v1/<path>/<id>/`,
`.../events/` and the socket `ws/<path>/<id>/`."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

from loupe_client.api import Api
from loupe_client.errors import WaitTimeout
from loupe_client.events import follow_events
from loupe_client.pages import list_items
from loupe_client.progress import JobProgress
from loupe_client.shapes import FINAL_STATUSES, JobEvent

J = TypeVar("J")
JobRef = int | Mapping[str, Any]
# After the final event, how long the job's record may take to show its end: the record is
# read from a replica, which replays the worker's last write a moment later.
SETTLE_SECONDS = 30.0


def job_id(job: JobRef) -> int:
    """A job's id, from the id or from the job as the API answered it."""
    return int(job) if isinstance(job, int) else int(job["id"])


class JobEndpoints(Generic[J]):
    path: ClassVar[str]
    label: ClassVar[str]
    progress_class: ClassVar[type[JobProgress]]

    def __init__(self, api: Api):
        self._api = api

    def get(self, job: JobRef) -> J:
        return cast(J, self._api.call("GET", f"{self.path}/{job_id(job)}/"))

    def events(
        self, job: JobRef, *, after: int = 0, follow: bool = True, timeout: float | None = None
    ) -> Iterator[JobEvent]:
        """The job's events after seq `after`, in order. With `follow` (the default), live
        over its WebSocket up to the event that ends the job (it reconnects after the last
        event seen if the socket drops); without, the stored ones over HTTP, then it stops."""
        if follow:
            return follow_events(self._api, self.path, job_id(job), after=after, timeout=timeout)
        path = f"{self.path}/{job_id(job)}/events/"
        return list_items(self._api, path, {"after": after}, item=JobEvent)

    def wait(self, job: JobRef, *, timeout: float | None = None, progress: bool = False) -> J:
        """The job once it has ended (succeeded, failed, cancelled, or an import partially
        failed), whatever the end: check its `status`. Follows its events rather than
        polling; with `progress`, a bar on standard error moves with them. Raises WaitTimeout
        past `timeout` seconds (the job goes on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        current = cast(Mapping[str, Any], self.get(job))
        if current["status"] in FINAL_STATUSES:
            return cast(J, current)
        bar = self.progress_class(current, f"{self.label} {current['id']}") if progress else None
        try:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            for event in self.events(current["id"], timeout=left):
                if bar is not None:
                    bar.show(event)
        finally:
            if bar is not None:
                bar.close()
        return self._settled(current["id"], deadline)

    def _settled(self, ended: int, deadline: float | None) -> J:
        """The job's record once it shows the end its final event announced."""
        limit = time.monotonic() + SETTLE_SECONDS
        if deadline is not None:
            limit = min(limit, deadline)
        while True:
            current = cast(Mapping[str, Any], self.get(ended))
            if current["status"] in FINAL_STATUSES:
                return cast(J, current)
            if time.monotonic() >= limit:
                raise WaitTimeout(
                    f"{self.label} {ended} ended, but its record still says {current['status']!r}"
                )
            time.sleep(0.2)

    def _cancel(self, job: JobRef) -> J:
        return cast(J, self._api.call("POST", f"{self.path}/{job_id(job)}/cancel/"))
