"""Creating and changing slices, and freezing them into snapshots."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404

from apps.datasets.models import Dataset
from apps.slices import id_blocks, queries, searching, snapshot_ids
from apps.slices.errors import SliceErrorCode
from apps.slices.models import Slice, SliceSnapshot
from loupe.api.errors import ApiError


def create_slice(*, dataset: Dataset, name: str, query: str, actor) -> Slice:
    """A live slice of `dataset`. The query is checked first: a query that cannot run is
    refused (ApiError 400) and nothing is stored. A name is unique within its dataset."""
    queries.validate(query)
    try:
        with transaction.atomic():
            return Slice.objects.create(dataset=dataset, name=name, query=query, created_by=actor)
    except IntegrityError:
        raise _name_taken(name) from None


def update_slice(*, slice: Slice, actor, **fields) -> Slice:
    """Rename a slice or change its query (checked first); its snapshots stay as they were."""
    if "query" in fields:
        queries.validate(fields["query"])
    for name, value in fields.items():
        setattr(slice, name, value)
    try:
        with transaction.atomic():
            slice.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise _name_taken(fields.get("name", slice.name)) from None
    return slice


def delete_slice(*, slice: Slice, actor) -> None:
    """Delete a slice and its snapshots."""
    slice.delete()


def create_snapshot(*, slice: Slice, actor) -> SliceSnapshot:
    """Freeze the rows the slice's query matches now, read from Postgres (the source of
    truth), into the slice's next numbered snapshot. Numbers never repeat within a slice:
    the slice row is locked while the number is taken, and while the snapshot and its blocks
    are written (the ids are read and packed before, so the lock is held briefly)."""
    node = queries.prepare(slice.query, datasets=[slice.dataset_id])
    ids = searching.all_ids(node=node)
    blocks = id_blocks.blocks_of(ids)
    with transaction.atomic():
        if Slice.objects.select_for_update().filter(pk=slice.pk).first() is None:
            raise Http404("The slice was deleted meanwhile.")
        last = slice.snapshots.aggregate(last=Max("number"))["last"] or 0
        snapshot = SliceSnapshot.objects.create(
            slice=slice,
            number=last + 1,
            query=slice.query,
            row_count=len(ids),
            created_by=actor,
        )
        snapshot_ids.store(snapshot, blocks)
        return snapshot


def _name_taken(name: str) -> ApiError:
    return ApiError(
        status=409,
        code=SliceErrorCode.NAME_TAKEN,
        detail=f"This dataset already has a slice named {name!r}; pick another name.",
        fields={"name": ["already taken in this dataset"]},
    )
