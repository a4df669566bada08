"""From query text to a tree the compilers take: parsed, checked, dataset names bound to ids,
and narrowed to the datasets asked for. Query errors become 400s that point at the column."""

from __future__ import annotations

from collections.abc import Sequence

from apps.datasets.models import Dataset
from apps.slices.errors import SliceErrorCode
from loupe.api.errors import ApiError
from search.query.errors import QueryError
from search.query.parser import parse_query
from search.query.tree import And, Compare, Field, FieldKind, In, Node, Not, Or

DATASET_FIELD = Field("dataset", FieldKind.DATASET)


def query_error(error: QueryError) -> ApiError:
    return ApiError(
        status=400,
        code=error.code,
        detail=str(error),
        fields={"query": [error.message]},
        extra={"line": error.line, "column": error.column},
    )


def prepare(text: str, *, datasets: Sequence[int] | None = None) -> Node | None:
    """The tree for `text`, limited to `datasets` when given. Raises ApiError (400) for a
    query that cannot run or a dataset the tenant does not have."""
    try:
        node = parse_query(text)
    except QueryError as error:
        raise query_error(error) from None
    node = _bind_dataset_names(node) if node is not None else None
    if datasets:
        _check_datasets_exist(datasets)
        scope = In(DATASET_FIELD, tuple(datasets))
        node = scope if node is None else And((scope, node))
    return node


def validate(text: str) -> None:
    """Raise ApiError if `text` is not a query that can run (what a slice checks on save)."""
    prepare(text)


def _check_datasets_exist(ids: Sequence[int]) -> None:
    missing = set(ids) - set(Dataset.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if missing:
        raise ApiError(
            status=400,
            code=SliceErrorCode.UNKNOWN_DATASET,
            detail=f"No dataset with id {', '.join(map(str, sorted(missing)))} in this tenant.",
            fields={"datasets": [f"unknown ids: {sorted(missing)}"]},
        )


def _bind_dataset_names(node: Node) -> Node:
    """Replace dataset names by the ids of the datasets so named (in any project)."""
    match node:
        case Compare(field=Field(kind=FieldKind.DATASET)):
            bound = In(DATASET_FIELD, _dataset_ids((node.value,)))
            return Not(bound) if node.op == "!=" else bound
        case In(field=Field(kind=FieldKind.DATASET)):
            return In(DATASET_FIELD, _dataset_ids(node.values), negated=node.negated)
        case And(children=children):
            return And(tuple(_bind_dataset_names(c) for c in children))
        case Or(children=children):
            return Or(tuple(_bind_dataset_names(c) for c in children))
        case Not(child=child):
            return Not(_bind_dataset_names(child))
        case _:
            return node


def _dataset_ids(values: Sequence[int | str]) -> tuple[int, ...]:
    names = [v for v in values if isinstance(v, str)]
    ids = {v for v in values if not isinstance(v, str)}
    if names:
        found = dict(Dataset.objects.filter(name__in=names).values_list("pk", "name"))
        unknown = sorted(set(names) - set(found.values()))
        if unknown:
            raise ApiError(
                status=400,
                code=SliceErrorCode.UNKNOWN_DATASET,
                detail=f"No dataset is named {unknown[0]!r} in this tenant.",
                fields={"query": [f"unknown dataset names: {unknown}"]},
            )
        ids.update(found)
    return tuple(sorted(ids))
