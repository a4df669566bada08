"""Authentication cost per request: a session token (Redis only) vs a JWT (signature check
plus the user and membership from Postgres) vs looking the API key up in Postgres.

Run: `make bench` (or `.venv/bin/python bench/auth.py`).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import bench_django

ROUNDS = 2000


def _measure(label: str, action) -> None:
    for _ in range(50):
        action()  # warm: connections, caches, the JWKS
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95)]
    print(f"{label:<34} median {statistics.median(samples):8.0f} us   p95 {p95:8.0f} us")


def main() -> None:
    bench_django()
    from tenants.identity import api_keys, dev_issuer, sessions
    from tenants.identity.authenticate import authenticate_token
    from tenants.roles import Role
    from tenants.services import create_tenant

    tenant = create_tenant(
        slug="authbench", name="Auth bench", domain="authbench.bench", owner_email="o@example.com"
    )
    owner = tenant.memberships.get().user
    api_key, secret = api_keys.create_api_key(
        tenant=tenant, name="bench", role=Role.EDITOR, actor=owner
    )
    session_token, _ = sessions.create_session(api_key=api_key)
    jwt_token = dev_issuer.issue_token(email=owner.email, tenant=tenant.slug, role="owner")
    authenticate_token(jwt_token, client="bench")  # first sight links the subject

    print(f"authentication per request, {ROUNDS} rounds each, one process:")
    _measure("session token (Redis)", lambda: authenticate_token(session_token, client="bench"))
    _measure(
        "JWT (RS256 + user, membership)", lambda: authenticate_token(jwt_token, client="bench")
    )
    _measure("API key looked up in Postgres", lambda: api_keys.api_key_for_secret(secret))


if __name__ == "__main__":
    main()
