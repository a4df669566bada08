"""Provisioning figures: one tenant by Loupe's clone of the template (tenants.schemas) beside
django-tenants' own create_schema (its clone_schema function, then a fake migrate), with a
few tenants in the database and again with CROWD of them; then `migrate_schemas` over 100
tenants (standard vs multiprocessing executor).

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
CROWD = 300
SAMPLES = 5


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    bench_django()
    from django.core.management import call_command
    from django.db import connection, connections

    from tenants.models import Tenant
    from tenants.services import create_tenant

    def provision(slug: str) -> None:
        create_tenant(slug=slug, name=slug, domain=f"{slug}.bench", owner_email="b@example.com")

    def django_tenants_clone(slug: str) -> None:
        tenant = Tenant.objects.create(schema_name=slug.replace("-", "_"), slug=slug, name=slug)
        tenant.create_schema(check_if_exists=True, verbosity=0)
        connections["default"].close()  # as create_tenant does: a fresh session per clone

    def compare(label: str, n: int) -> None:
        ours = [_timed(lambda i=i: provision(f"{label}-ours-{i}")) for i in range(n)]
        theirs = [_timed(lambda i=i: django_tenants_clone(f"{label}-dt-{i}")) for i in range(n)]
        count = Tenant.objects.count()
        print(f"provision one tenant, {count} in the database:")
        print(f"  Loupe's clone (tenants.schemas):       median {statistics.median(ours):7.3f} s")
        print(f"  django-tenants' clone + fake migrate:  median {statistics.median(theirs):7.3f} s")

    compare("few", SAMPLES)

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

    # Last: the figures above are measured with few tenants in the database.
    for i in range(CROWD):
        provision(f"crowd-{i}")
    compare("crowd", 2)  # the baseline takes a while there


if __name__ == "__main__":
    main()
