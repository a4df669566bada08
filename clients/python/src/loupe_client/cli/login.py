"""`loupe login`: check the credentials against the platform, then store them."""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.core import ParameterSource

from loupe_client.cli import config
from loupe_client.cli.output import emit, json_option
from loupe_client.client import Client
from loupe_client.shapes import Me


@click.command()
@click.argument("url", required=False, envvar="LOUPE_URL")
@click.option("--api-key", envvar="LOUPE_API_KEY", help="An API key (lk_...); asked for if none.")
@click.option("--token", help="A bearer token instead of an API key (it is not renewed).")
@click.option("--predict-url", envvar="LOUPE_PREDICT_URL", help="The predict server's URL.")
@json_option
@click.pass_context
def login(
    ctx: click.Context,
    url: str | None,
    api_key: str | None,
    token: str | None,
    predict_url: str | None,
) -> None:
    """Sign in to the tenant at URL (e.g. http://acme.localhost:8000) and remember it.

    The credentials are checked first, then stored in the user's configuration folder,
    readable by the user alone.
    """
    if not url:
        raise click.UsageError(
            "give the tenant's URL, e.g. `loupe login http://acme.localhost:8000`"
        )
    if token and api_key:
        if ctx.get_parameter_source("api_key") == ParameterSource.COMMANDLINE:
            raise click.UsageError("give --api-key or --token, not both")
        api_key = None  # --token given beats LOUPE_API_KEY
    if not api_key and not token:
        token = os.environ.get("LOUPE_TOKEN") or None
    if not api_key and not token:
        api_key = click.prompt("API key", hide_input=True)
    with Client(url, api_key=api_key, token=None if api_key else token) as client:
        me = client.me()
    settings = config.Settings(
        url=url, api_key=api_key, token=None if api_key else token, predict_url=predict_url
    )
    path = config.save(settings)
    emit({"me": me, "config": str(path)}, lambda: _signed_in(me, path))


def _signed_in(me: Me, path: Path) -> str:
    key = me.get("api_key")
    via = f", API key {key['name']!r}" if key else ""
    who = me["user"].get("email") or "an API key"
    return f"Signed in to {me['tenant']['slug']} as {who} ({me['role']}{via}); saved to {path}"
