"""Reads of slices and snapshots, and of the rows they hold."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.slices import queries, searching, snapshot_ids
from apps.slices.models import Slice, SliceSnapshot
from apps.slices.searching import Backend, SearchPage


def slices(*, dataset_id: int | None = None) -> QuerySet[Slice]:
    queryset = Slice.objects.all()
    return queryset if dataset_id is None else queryset.filter(dataset_id=dataset_id)


def get_slice(*, slice_id: int) -> Slice:
    return get_object_or_404(Slice, pk=slice_id)


def snapshots_of(*, slice: Slice) -> QuerySet[SliceSnapshot]:
    return slice.snapshots.order_by("-number")


def get_snapshot(*, slice: Slice, number: int) -> SliceSnapshot:
    return get_object_or_404(SliceSnapshot, slice=slice, number=number)


def slice_rows(
    *, slice: Slice, page_size: int, cursor: str | None, backend: Backend = Backend.AUTO
) -> SearchPage:
    """The rows the slice's query matches now, in its dataset."""
    node = queries.prepare(slice.query, datasets=[slice.dataset_id])
    return searching.search(node=node, page_size=page_size, cursor=cursor, backend=backend)


def slice_count(*, slice: Slice, backend: Backend = Backend.AUTO) -> searching.RowCount:
    node = queries.prepare(slice.query, datasets=[slice.dataset_id])
    return searching.count(node=node, backend=backend)


def snapshot_rows(*, snapshot: SliceSnapshot, page_size: int, cursor: str | None) -> SearchPage:
    """A page of the snapshot's rows, by id: the blocks of ids after the cursor's, alone, so
    its last page costs what its first does. Rows deleted since the snapshot are left out of
    the page (the total still counts them: it is what the snapshot froze)."""
    position = searching.decode_cursor(cursor)
    ids = snapshot_ids.page_after(
        snapshot, after=position.after if position else None, limit=page_size + 1
    )
    page_ids = ids[:page_size].tolist()
    more = len(ids) > page_size
    return SearchPage(
        backend=Backend.POSTGRES,
        total=snapshot.row_count,
        rows=searching.hydrate(page_ids),
        next_cursor=searching.encode_cursor(page_ids[-1]) if more else None,
    )
