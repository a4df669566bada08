"""How commands print: their result on standard output, as text for people or as JSON with
`--json`; errors and progress on standard error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
JSON_KEY = "loupe.json"


def json_option(command: F) -> F:
    """`--json`: print the result as JSON (and errors as JSON on standard error)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        ctx.meta[JSON_KEY] = value
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Print the result as JSON, for scripts.",
    )(command)


def wants_json() -> bool:
    return bool(click.get_current_context().meta.get(JSON_KEY))


def emit(result: Any, text: Callable[[], str]) -> None:
    """`result` as JSON under --json, else the text `text()` renders."""
    click.echo(json.dumps(result, indent=2) if wants_json() else text())


def table(rows: list[list[Any]], header: list[str]) -> str:
    """Columns padded to their widest cell."""
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
