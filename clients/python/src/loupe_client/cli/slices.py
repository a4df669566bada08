"""`loupe slice create NAME --dataset ID --query Q`."""

from __future__ import annotations

import click

from loupe_client.cli.config import client_from_settings
from loupe_client.cli.output import emit, json_option


@click.group("slice")
def slice_group() -> None:
    """Slices: saved queries over a dataset, to train and predict on."""


@slice_group.command()
@click.argument("name")
@click.option("--dataset", type=int, required=True, help="The dataset's id.")
@click.option("--query", default="", help="In the query language; empty: every row.")
@json_option
def create(name: str, dataset: int, query: str) -> None:
    """Create a slice NAME of the dataset's rows that QUERY matches."""
    with client_from_settings() as client:
        created = client.slices.create(name, dataset=dataset, query=query)
        rows = client.slices.count(created["id"])
    emit(
        created | {"rows": rows},
        lambda: f"slice {created['id']} {name!r} of dataset {dataset}: {rows} rows",
    )
