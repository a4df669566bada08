"""What a tenant has stored, as its API shows it: read before and after a request that must
be refused, so a test shows that the refusal stored and changed nothing."""

from __future__ import annotations

from django.test import Client

from tests.support.database import wait_for_replica_catch_up


def shown(client: Client, *paths: str) -> dict[str, object]:
    """What each path answers the client (a paginated list with every page followed), read
    once the replica has replayed every write so far: whatever a refused request wrote is in
    it, wherever the client's reads go."""
    wait_for_replica_catch_up()
    return {path: _everything(client, path) for path in paths}


def _everything(client: Client, path: str) -> object:
    response = client.get(path)
    assert response.status_code == 200, (path, response.content)
    body = response.json()
    if not (isinstance(body, dict) and "results" in body and "next" in body):
        return body
    items = list(body["results"])
    while body["next"]:
        body = client.get(body["next"]).json()
        items += body["results"]
    return items
