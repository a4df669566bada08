"""Ping the Celery workers on every queue, in a tenant: `check_workers --tenant acme`."""

import time

from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from loupe.celery import QUEUES, app
from tenants.management.base import MigratedDatabaseCommand
from tenants.models import Tenant


class Command(MigratedDatabaseCommand):
    help = "Send a ping task to each queue and print which worker and schema answered."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--queue", action="append", choices=QUEUES)
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, **options):
        tenant = Tenant.objects.using("default").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        failed = []
        for queue in options["queue"] or QUEUES:
            started = time.perf_counter()
            with tenant_context(tenant):
                result = app.send_task("workers.system.ping", queue=queue)
            try:
                answer = result.get(timeout=options["timeout"])
            except CeleryTimeout:
                failed.append(queue)
                self.stdout.write(f"{queue}: no answer within {options['timeout']} s")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            self.stdout.write(
                f"{queue}: {answer['node']} ran it in schema {answer['schema']} ({elapsed:.0f} ms)"
            )
        if failed:
            raise CommandError(f"no worker answered on: {', '.join(failed)}")
