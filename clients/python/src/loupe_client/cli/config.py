"""Where the command line finds the platform and its credentials: `loupe login` stores them
in `config.json` under the user's configuration folder (`~/.config/loupe/` on Linux,
`$XDG_CONFIG_HOME/loupe/` when set; click's `get_app_dir` elsewhere), readable by the user
alone (0600). The environment overrides the file: `LOUPE_URL`, `LOUPE_PREDICT_URL`, and
`LOUPE_API_KEY` or `LOUPE_TOKEN` (either replaces both stored credentials)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from loupe_client.cli.exit_codes import ExitCode
from loupe_client.client import Client

APP_NAME = "loupe"


@dataclass(frozen=True)
class Settings:
    url: str | None = None
    api_key: str | None = None
    token: str | None = None
    predict_url: str | None = None


def config_path() -> Path:
    return Path(click.get_app_dir(APP_NAME)) / "config.json"


def stored() -> Settings:
    """What `loupe login` saved; empty settings when it never ran."""
    try:
        saved = json.loads(config_path().read_text())
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {config_path()}: {exc}") from exc
    return Settings(**{k: saved.get(k) for k in ("url", "api_key", "token", "predict_url")})


def current() -> Settings:
    """The stored settings under the environment's."""
    saved = stored()
    api_key, token = os.environ.get("LOUPE_API_KEY"), os.environ.get("LOUPE_TOKEN")
    if api_key or token:
        saved = Settings(url=saved.url, predict_url=saved.predict_url, api_key=api_key, token=token)
    return Settings(
        url=os.environ.get("LOUPE_URL") or saved.url,
        api_key=saved.api_key or None,
        token=None if saved.api_key else saved.token or None,
        predict_url=os.environ.get("LOUPE_PREDICT_URL") or saved.predict_url,
    )


def save(settings: Settings) -> Path:
    """Writes the settings readable by the user alone, the folder too; answers the path."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file made before keeps its mode otherwise
    with os.fdopen(descriptor, "w") as file:
        json.dump({k: v for k, v in asdict(settings).items() if v}, file, indent=2)
        file.write("\n")
    return path


class NotSignedIn(click.ClickException):
    exit_code = ExitCode.AUTH


def client_from_settings() -> Client:
    """The client the settings name; NotSignedIn when they name no platform or no
    credentials."""
    settings = current()
    if not settings.url:
        raise NotSignedIn("no platform URL: run `loupe login URL` or set LOUPE_URL")
    if not (settings.api_key or settings.token):
        raise NotSignedIn("no credentials: run `loupe login` or set LOUPE_API_KEY or LOUPE_TOKEN")
    return Client(
        settings.url,
        api_key=settings.api_key,
        token=None if settings.api_key else settings.token,
        predict_url=settings.predict_url,
    )
