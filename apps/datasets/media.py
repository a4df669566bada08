"""Data rows' media in storage. A ZIP import stores each image at
`<schema>/datasets/<dataset id>/media/<entry>`; a row may name media anywhere else too (a
URI of the client's own), which the platform never deletes. Media go with their rows and
their datasets, and an import that ends leaves none behind that no row names."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from django.db import transaction

from apps.datasets.models import DataRow
from loupe.storage.files import delete_files, delete_on_commit
from tenants.activation import active_schema


def dataset_prefix(dataset_id: int) -> str:
    """Where the dataset's files are, in the active tenant's storage."""
    return f"{active_schema()}/datasets/{dataset_id}/"


def media_prefix(dataset_id: int) -> str:
    return f"{dataset_prefix(dataset_id)}media/"


def delete_unnamed(dataset_id: int, names: Iterable[str]) -> None:
    """Delete those of the dataset's stored media among `names` that no row of it names
    (read on the primary): one name may serve several rows, as a row of an earlier import
    of the same entry, or a JSONL row that names it."""
    prefix = media_prefix(dataset_id)
    candidates = {name for name in names if name.startswith(prefix)}
    if not candidates:
        return
    named = DataRow.objects.using("default").filter(dataset_id=dataset_id, media_uri__in=candidates)
    delete_files(candidates - set(named.values_list("media_uri", flat=True)))


def delete_with_rows_on_commit(rows: Iterable[tuple[int, str]]) -> None:
    """Once the deletion of rows given as (dataset_id, media_uri) commits, delete the stored
    media that only they named."""
    by_dataset: dict[int, set[str]] = {}
    for dataset_id, media_uri in rows:
        by_dataset.setdefault(dataset_id, set()).add(media_uri)

    def delete() -> None:
        for dataset_id, names in by_dataset.items():
            delete_unnamed(dataset_id, names)

    transaction.on_commit(delete, using="default")


def delete_datasets_on_commit(dataset_ids: Iterable[int]) -> None:
    """Once the datasets' deletion commits, delete every file stored for them."""
    delete_on_commit(prefixes=[dataset_prefix(dataset_id) for dataset_id in dataset_ids])


class StoredMedia:
    """The media an import run has stored ahead of its rows: the staging thread stores them
    batches before the batch commits, and a batch that never commits (the run failed), or
    whose row was refused, leaves them named by no row. What is still unsettled when the
    run ends is deleted (unless an earlier row names it)."""

    def __init__(self, dataset_id: int):
        self.dataset_id = dataset_id
        self._lock = threading.Lock()
        self._unsettled: set[str] = set()

    def stored(self, name: str) -> None:
        """Called on the staging thread for each file it stores."""
        with self._lock:
            self._unsettled.add(name)

    def settled(self, names: Iterable[str]) -> None:
        """The names committed rows now hold."""
        with self._lock:
            self._unsettled.difference_update(names)

    def delete_unsettled(self) -> None:
        with self._lock:
            names, self._unsettled = self._unsettled, set()
        delete_unnamed(self.dataset_id, names)
