"""Members' HTTP clients of a real server (uvicorn) the tests started."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from tenants.models import Tenant, User
from tests.conftest import host_of, token_for


@contextmanager
def member_clients(server) -> Iterator[Callable[[Tenant, User], httpx.Client]]:
    """Makes a member's client of `server`, signed in: its first request links the token to
    the user (a write), before the replica has caught up. Each is closed after the block."""
    opened: list[httpx.Client] = []

    def make(tenant: Tenant, user: User) -> httpx.Client:
        client = httpx.Client(
            base_url=server.url,
            headers={"Host": host_of(tenant), "Authorization": f"Bearer {token_for(tenant, user)}"},
            timeout=30,
        )
        opened.append(client)
        assert client.get("/api/v1/me/").status_code == 200
        return client

    try:
        yield make
    finally:
        for client in opened:
            client.close()
