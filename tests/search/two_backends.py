"""Support for test_backends_agree.py: the same rows (as equivalence_support.py writes them)
loaded into a tenant's Postgres schema and into an Elasticsearch index, and the rows each
backend selects.
"""

from __future__ import annotations

from django.db.models import Value
from elasticsearch import Elasticsearch

from apps.datasets.models import Annotation, DataRow, Dataset
from apps.predictions.models import Prediction
from apps.training.models import Model, ModelVersion
from search import bulk
from search.loading import rows_by_id
from search.mapping import index_body
from search.query.render import render_query
from search.query.to_elasticsearch import compile_to_elasticsearch
from search.query.to_postgres import compile_to_postgres
from search.query.tree import And, Group, Node, Not, Or


class Backends:
    """One tenant's rows in Postgres and in a test index, and the rows a tree selects in
    each. Use inside the tenant's context."""

    def __init__(self, es: Elasticsearch, index: str, datasets: list[Dataset]) -> None:
        self.es, self.index, self.datasets = es, index, datasets
        self._indexed: list[int] = []
        self._loaded = ""
        self._rows: dict[int, dict] = {}
        self._versions: dict[tuple[str, int], ModelVersion] = {}
        es.indices.create(index=index, **index_body())

    def drop(self) -> None:
        self.es.indices.delete(index=self.index)

    def load(self, rows: list[dict]) -> None:
        """Replace every row of the tenant, in both backends, by `rows` (unless the same
        rows are loaded already, as for the rule tests, which share one dataset)."""
        # repr, not ==: 1 == 1.0 == True, but they are three different JSON values.
        if repr(rows) == self._loaded:
            return
        DataRow.objects.all().delete()
        created = DataRow.objects.bulk_create(
            DataRow(
                dataset=self.datasets[r["dataset"]],
                external_id=r["external_id"],
                media_uri=f"s3://bucket/{n}.jpg",
                width=r["width"],
                height=r["height"],
                metadata=r["metadata"],
                tags=r["tags"],
            )
            for n, r in enumerate(rows)
        )
        Annotation.objects.bulk_create(
            Annotation(data_row=d, **a)
            for d, r in zip(created, rows, strict=True)
            for a in r["annotations"]
        )
        Prediction.objects.bulk_create(
            Prediction(
                data_row=d,
                model_version=self._version(p["model"], p["version"]),
                class_name=p["class_name"],
                score=p["score"],
                rank=p["rank"],
                geometry_type=p["geometry_type"],
                geometry=p["geometry"],
                eval=p["eval"],
                iou=p["iou"],
            )
            for d, r in zip(created, rows, strict=True)
            for p in r["predictions"]
        )
        for d, r in zip(created, rows, strict=True):
            DataRow.objects.filter(pk=d.pk).update(
                created_at=r["created_at"], updated_at=r["updated_at"]
            )
        # As the indexer writes them: read back (the area is Postgres's), then in bulk.
        ids = [d.pk for d in created]
        bulk.send(
            bulk.index_operations(self.index, rows_by_id(ids), deleted_ids=self._indexed),
            refresh=True,
        )
        self._indexed, self._loaded = ids, repr(rows)
        self._rows = dict(zip(ids, rows, strict=True))

    def _version(self, model: str, version: int) -> ModelVersion:
        """The version `version` of the model named `model`, made on first use."""
        key = (model, version)
        if key not in self._versions:
            registered, _ = Model.objects.using("default").get_or_create(
                name=model, defaults={"task": "detection"}
            )
            self._versions[key] = ModelVersion.objects.create(
                model=registered, version=version, spec="test", artifact=f"{model}/{version}"
            )
        return self._versions[key]

    def assert_agree(self, trees: list[Node | None]) -> list[set[str]]:
        """The external ids each tree selects, once both backends select the same rows;
        AssertionError naming the first tree they disagree on. All trees go in one SQL
        query and one multi-search: a query costs little next to loading the data."""
        in_postgres, in_elasticsearch = self._postgres_ids(trees), self._elasticsearch_ids(trees)
        for tree, postgres_ids, elasticsearch_ids in zip(
            trees, in_postgres, in_elasticsearch, strict=True
        ):
            if postgres_ids != elasticsearch_ids:
                raise AssertionError(self._disagreement(_smallest_part(self, tree)))
        return [self._external_ids(ids) for ids in in_postgres]

    def _disagreement(self, tree: Node | None) -> str:
        # A query is a condition on one row at a time, so one row it splits the backends
        # on, with the query, is the whole of a minimal example: no shrinking needed.
        (in_postgres,) = self._postgres_ids([tree])
        (in_elasticsearch,) = self._elasticsearch_ids([tree])
        first = min(in_postgres ^ in_elasticsearch)
        return (
            f"the backends disagree on {_text(tree)}\n  {tree!r}\n"
            f"  only Postgres selects {sorted(self._external_ids(in_postgres - in_elasticsearch))}"
            f"\n  only Elasticsearch selects "
            f"{sorted(self._external_ids(in_elasticsearch - in_postgres))}\n"
            f"  the first of these rows: {self._rows[first]!r}"
        )

    def disagrees(self, tree: Node) -> bool:
        return self._postgres_ids([tree]) != self._elasticsearch_ids([tree])

    def _postgres_ids(self, trees: list[Node | None]) -> list[set[int]]:
        # UNION ALL of one filtered query per tree, each as the search service would run it.
        parts = [
            DataRow.objects.filter(compile_to_postgres(tree))
            .annotate(tree=Value(i))
            .values_list("tree", "pk")
            for i, tree in enumerate(trees)
        ]
        found: list[set[int]] = [set() for _ in trees]
        for i, pk in parts[0].union(*parts[1:], all=True):
            found[i].add(pk)
        return found

    def _elasticsearch_ids(self, trees: list[Node | None]) -> list[set[int]]:
        searches: list[dict] = []
        for tree in trees:
            searches += [
                {"index": self.index},
                {"query": compile_to_elasticsearch(tree), "size": 10_000, "_source": False},
            ]
        found = []
        for response in self.es.msearch(searches=searches)["responses"]:
            assert "error" not in response, response["error"]
            found.append({int(hit["_id"]) for hit in response["hits"]["hits"]})
        return found

    def _external_ids(self, ids: set[int]) -> set[str]:
        return {self._rows[pk]["external_id"] for pk in ids}


def _smallest_part(backends: Backends, tree: Node | None) -> Node | None:
    """The smallest part of `tree` the backends still disagree on (a hand-made shrink: the
    first part that does, then the first of its parts, ...)."""
    while tree is not None:
        smaller = next((p for p in _parts(tree) if backends.disagrees(p)), None)
        if smaller is None:
            return tree
        tree = smaller
    return tree


def _parts(tree: Node) -> list[Node]:
    match tree:
        case And(children) | Or(children):
            return list(children)
        case Not(child):
            return [child]
        case Group(kind, And(children) | Or(children)):
            return [Group(kind, c) for c in children]
        case Group(kind, Not(child)):
            return [Group(kind, child)]
    return []


def _text(tree: Node | None) -> str:
    return "(every row)" if tree is None else render_query(tree)
