"""Provisioning figures: one tenant by cloning the template vs by running every migration,
and `migrate_schemas` over 100 tenants (standard vs multiprocessing executor).

Run: `make bench` (or `.venv/bin/python bench/provisioning.py`).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.setup import bench_django

TENANTS = 100
SAMPLES = 5


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    bench_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from tenants.models import Tenant
    from tenants.services import create_tenant

    def provision(slug: str) -> None:
        create_tenant(slug=slug, name=slug, domain=f"{slug}.bench", owner_email="b@example.com")

    clone = [_timed(lambda i=i: provision(f"clone-{i}")) for i in range(SAMPLES)]
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        migrate = [_timed(lambda i=i: provision(f"migrate-{i}")) for i in range(SAMPLES)]
    print(f"provision one tenant by clone:   median {statistics.median(clone):.3f} s")
    print(f"provision one tenant by migrate: median {statistics.median(migrate):.3f} s")

    # 100 tenants whose schemas are empty, so migrate_schemas applies every migration.
    for i in range(TENANTS):
        tenant = Tenant.objects.create(schema_name=f"bulk_{i}", slug=f"bulk-{i}", name=f"{i}")
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{tenant.schema_name}"')
    full = _timed(
        lambda: call_command(
            "migrate_schemas",
            tenant=True,
            executor="multiprocessing",
            interactive=False,
            verbosity=0,
        )
    )
    print(f"migrate_schemas, {TENANTS} empty tenant schemas, multiprocessing: {full:.1f} s")
    for executor in ("standard", "multiprocessing"):
        noop = _timed(
            lambda executor=executor: call_command(
                "migrate_schemas", tenant=True, executor=executor, interactive=False, verbosity=0
            )
        )
        total = Tenant.objects.exclude(schema_name="public").count()
        print(f"migrate_schemas, {total} up-to-date tenants, {executor}: {noop:.1f} s")


if __name__ == "__main__":
    main()
