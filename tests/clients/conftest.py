"""Fixtures for the Python SDK and the `loupe` command line, against the real platform: the
session's ASGI server reached at the tenant's own host name (`<slug>.localhost:<port>`,
connected to on loopback by the SDK's rule), an editor's API key, the demo digits, and a
way to run the command line as a process of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from loupe_client import Client

from tenants.identity.api_keys import create_api_key
from tenants.models import Tenant
from tenants.roles import Role
from tests.conftest import host_of
from tests.support import processes
from tests.support.database import wait_for_replica_catch_up
from tests.training.conftest import DIGITS, import_demo


def url_of(server, tenant: Tenant) -> str:
    return f"http://{host_of(tenant)}:{server.port}"


def api_key_for(tenant: Tenant, role: Role = Role.EDITOR) -> str:
    """A new API key of the tenant with `role`, made by its owner."""
    owner = tenant.memberships.get(role=Role.OWNER).user
    _, secret = create_api_key(tenant=tenant, name=f"sdk {role}", role=role, actor=owner)
    return secret


@pytest.fixture
def api_url(asgi_server, tenant) -> str:
    return url_of(asgi_server, tenant)


@pytest.fixture
def api_key(tenant) -> str:
    return api_key_for(tenant)


@pytest.fixture
def loupe(api_url, api_key) -> Iterator[Client]:
    """An editor's client, signed in with an API key."""
    with Client(api_url, api_key=api_key) as client:
        yield client


@pytest.fixture
def dataset(loupe) -> dict:
    project = loupe.projects.create("drive")
    return loupe.datasets.create(project["id"], "frames")


def jsonl_rows(count: int) -> bytes:
    """`count` rows, `metadata.i` 0 to count - 1, every third camera `rear`."""
    rows = [
        {
            "external_id": f"img-{i:04d}",
            "media_uri": f"s3://bucket/{i}.jpg",
            "metadata": {"i": i, "camera": "rear" if i % 3 == 0 else "front"},
            "annotations": [{"class": "car", "bbox": [0, 0, 10, 10 + i]}],
        }
        for i in range(count)
    ]
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


ROWS = 250  # more than two pages of 100


@pytest.fixture
def imported(celery_worker, loupe, dataset, tmp_path) -> dict:
    """The dataset with ROWS rows imported through the SDK."""
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl_rows(ROWS))
    job = loupe.imports.wait(loupe.imports.upload(dataset["id"], path), timeout=120)
    assert (job["status"], job["created"]) == ("succeeded", ROWS), job
    return dataset


@pytest.fixture
def digits(tenant, loupe) -> dict:
    """The first DIGITS demo digits (and a shape), imported as `demo_data` does, and a slice
    of the digits made through the SDK."""
    import_demo(tenant, "--digits", str(DIGITS), "--shapes", "1")
    wait_for_replica_catch_up()  # the command wrote them; the key's reads go to the replica
    found = next(d for d in loupe.datasets.list() if d["name"] == "digits")
    return loupe.slices.create("all digits", dataset=found["id"])


@pytest.fixture
def predict_url(live_db, tenant, tmp_path) -> Iterator[str]:
    """The predict server (loupe.serving_asgi), at the tenant's host on its own port."""
    app = "loupe.serving_asgi:application"
    with processes.asgi_server(tmp_path / "predict.log", app=app) as server:
        yield url_of(server, tenant)


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    def error(self) -> dict:
        """The error body `--json` prints on standard error."""
        return json.loads(self.stderr.strip().splitlines()[-1])


@dataclass(frozen=True)
class Cli:
    """Runs `python -m loupe_client.cli ARGS` as a process of its own, signed in through the
    environment (LOUPE_URL, LOUPE_API_KEY) unless `env` says otherwise (None unsets a
    variable); its configuration folder is under `home`, the test's own."""

    home: Path
    url: str
    key: str

    @property
    def config_file(self) -> Path:
        return self.home / ".config" / "loupe" / "config.json"

    def __call__(self, *args: str, env: dict | None = None, timeout: float = 240) -> Ran:
        environment = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "LOUPE_URL": self.url,
            "LOUPE_API_KEY": self.key,
        }
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        done = subprocess.run(
            [sys.executable, "-m", "loupe_client.cli", *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(tmp_path, api_url, api_key) -> Cli:
    return Cli(tmp_path / "home", api_url, api_key)


def requests_to(client: Client, path_part: str) -> list[httpx.Request]:
    """The requests the client sends from now on whose path holds `path_part`."""
    seen: list[httpx.Request] = []
    client.api.http.event_hooks["request"].append(
        lambda request: seen.append(request) if path_part in request.url.path else None
    )
    return seen


def epochs_reported(stderr: str) -> list[str]:
    """The epochs whose line of metrics was printed (`epoch 2/5  train_loss ...`): each
    stands alone on a line once tqdm has redrawn its bar around it."""
    lines = (line.strip() for line in re.split(r"[\r\n]", stderr))
    return [match[1] for line in lines if (match := re.match(r"epoch (\d+)/\d+  train_loss", line))]
