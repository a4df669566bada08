"""Bring a database to a working platform: migrate, the public tenant, and optionally a demo
tenant. Idempotent: `make run` calls it every time."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.models import Tenant
from tenants.services import create_tenant, ensure_public_tenant

DEMO = {
    "slug": "acme",
    "name": "Acme",
    "domain": "acme.localhost",
    "owner_email": "alice@example.com",
}


class Command(BaseCommand):
    help = "Migrate every schema, ensure the public tenant and, with --demo, a demo tenant."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="also provision tenant acme")
        parser.add_argument(
            "--public-domain",
            action="append",
            default=None,
            help="a host name of the public site (repeatable; default localhost, 127.0.0.1)",
        )

    def handle(self, *args, **options):
        call_command("migrate_schemas", interactive=False, verbosity=0)
        ensure_public_tenant(domains=options["public_domain"] or ["localhost", "127.0.0.1"])
        self.stdout.write("schemas migrated (public, tenants, template)")
        if options["demo"]:
            if Tenant.objects.filter(slug=DEMO["slug"]).exists():
                self.stdout.write(f"demo tenant {DEMO['slug']} exists")
            else:
                create_tenant(**DEMO)
                self.stdout.write(
                    f"demo tenant {DEMO['slug']} at {DEMO['domain']}, owner {DEMO['owner_email']}"
                )
