"""The `loupe` group: every command under it, and every error turned into its message and
its exit code (exit_codes.py)."""

from __future__ import annotations

import json
from typing import Any

import click

from loupe_client.cli.exit_codes import exit_code_for
from loupe_client.cli.imports import import_file
from loupe_client.cli.jobs import jobs
from loupe_client.cli.login import login
from loupe_client.cli.output import JSON_KEY
from loupe_client.cli.search import search
from loupe_client.cli.slices import slice_group
from loupe_client.cli.train import train
from loupe_client.errors import ApiError, LoupeError


class LoupeGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoupeError as error:
            _report(ctx, error)
            ctx.exit(exit_code_for(error))


def _report(ctx: click.Context, error: LoupeError) -> None:
    """On standard error: the API's error body under --json (a context's `meta` is shared
    with its subcommand's, which set the flag), the message otherwise."""
    if ctx.meta.get(JSON_KEY):
        body = error.as_dict() if isinstance(error, ApiError) else {"detail": str(error)}
        click.echo(json.dumps({"error": body, "exit_code": int(exit_code_for(error))}), err=True)
    else:
        click.echo(f"error: {error}", err=True)


@click.group(cls=LoupeGroup, context_settings={"help_option_names": ["-h", "--help"]})
def loupe() -> None:
    """Loupe from a shell: import files, search, cut slices, train, and follow jobs.

    Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 authentication or permission, 4 not
    found, 5 invalid input, 6 the job did not succeed, 7 server or connection error.
    """


for command in (login, import_file, search, slice_group, train, jobs):
    loupe.add_command(command)


def main() -> None:
    loupe()
