"""Provision a tenant: `create_tenant --slug acme --name "Acme" --domain acme.localhost
--owner alice@example.com`."""

import time

from django.core.management.base import CommandError

from tenants.errors import ProvisioningError
from tenants.management.base import MigratedDatabaseCommand
from tenants.services import create_tenant


class Command(MigratedDatabaseCommand):
    help = "Provision a tenant by cloning the template schema."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", required=True)
        parser.add_argument("--owner", required=True, help="the owner's e-mail address")

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            tenant = create_tenant(
                slug=options["slug"],
                name=options["name"],
                domain=options["domain"],
                owner_email=options["owner"],
            )
        except ProvisioningError as exc:
            raise CommandError(f"{exc.code.value}: {exc.message}") from exc
        self.stdout.write(
            f"tenant {tenant.slug} (schema {tenant.schema_name}) at {options['domain']} "
            f"provisioned in {time.perf_counter() - started:.2f} s"
        )
