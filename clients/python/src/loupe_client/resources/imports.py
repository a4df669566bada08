"""Imports: a file sent to a dataset, read by a worker, followed by its events."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

from loupe_client.pages import list_items
from loupe_client.progress import ImportProgress
from loupe_client.resources.job_endpoints import JobEndpoints
from loupe_client.shapes import ImportJob

# As the platform's own `import_dataset` reads a file's suffix.
FORMAT_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".json": "coco",
    ".zip": "zip",
}
# Uploads may take long to send; reading the answer may not.
UPLOAD_TIMEOUT = 600.0

Upload = str | os.PathLike[str] | IO[bytes]


def format_of(name: str) -> str:
    """The import format a file name's suffix names; ValueError when it names none."""
    suffix = Path(name).suffix.lower()
    if suffix not in FORMAT_BY_SUFFIX:
        known = ", ".join(FORMAT_BY_SUFFIX)
        raise ValueError(f"cannot tell the format of {name!r} (suffixes: {known}): pass format=")
    return FORMAT_BY_SUFFIX[suffix]


class Imports(JobEndpoints[ImportJob]):
    path, label, progress_class = "imports", "import", ImportProgress

    def upload(
        self, dataset_id: int, file: Upload, *, format: str | None = None, notify: bool = False
    ) -> ImportJob:
        """Sends a file (a path or a binary file object) to the dataset and answers the job,
        `queued`: `wait(job)` for its end. `format` (`jsonl`, `csv`, `coco`, `zip`) defaults
        to the one the file name's suffix names."""
        if isinstance(file, str | os.PathLike):
            with open(file, "rb") as opened:
                return self.upload(dataset_id, opened, format=format, notify=notify)
        name = os.path.basename(getattr(file, "name", "") or "upload")
        form = {"format": format or format_of(name), "notify": "true" if notify else "false"}
        return cast(
            ImportJob,
            self._api.call(
                "POST",
                f"datasets/{dataset_id}/imports/",
                data=form,
                files={"file": (name, file)},
                timeout=UPLOAD_TIMEOUT,
            ),
        )

    def from_source(
        self, dataset_id: int, source_uri: str, *, format: str, notify: bool = False
    ) -> ImportJob:
        """Imports a file the platform can already read: a path under the tenant's import
        folder, or an `s3://` URI under its prefixes (docs/storage.md)."""
        body = {"format": format, "source_uri": source_uri, "notify": notify}
        return cast(ImportJob, self._api.call("POST", f"datasets/{dataset_id}/imports/", json=body))

    def list(self, dataset_id: int) -> Iterator[ImportJob]:
        """The dataset's imports, newest first."""
        return list_items(self._api, f"datasets/{dataset_id}/imports/", item=ImportJob)
