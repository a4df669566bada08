"""`loupe search QUERY`: the rows a query matches."""

from __future__ import annotations

from itertools import islice
from typing import Any

import click

from loupe_client.cli.config import client_from_settings
from loupe_client.cli.output import emit, json_option, table


@click.command()
@click.argument("query", default="")
@click.option("--dataset", "datasets", type=int, multiple=True, help="Only this dataset (repeat).")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--backend", type=click.Choice(["auto", "elasticsearch", "postgres"]), default="auto")
@json_option
def search(query: str, datasets: tuple[int, ...], limit: int, backend: str) -> None:
    """The rows QUERY matches (docs/query-language.md), the first --limit of them, and how
    many there are in all."""
    with client_from_settings() as client:
        found = client.search(
            query, datasets=datasets or None, page_size=max(1, min(limit, 1000)), backend=backend
        )
        rows = list(islice(found, limit))
        result = {"total": found.total, "backend": found.backend, "rows": rows}
    emit(result, lambda: _listing(result))


def _listing(result: dict[str, Any]) -> str:
    lines = [f"{result['total']} rows match ({result['backend']})"]
    if result["rows"]:
        cells = [
            [row["id"], row["external_id"], row["media_uri"], ",".join(row["tags"])]
            for row in result["rows"]
        ]
        lines.append(table(cells, ["id", "external_id", "media_uri", "tags"]))
    return "\n".join(lines)
