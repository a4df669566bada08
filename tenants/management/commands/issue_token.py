"""Print a token from the development issuer:
`issue_token --tenant acme --email alice@example.com --role owner [--ttl 3600]`."""

from django.conf import settings
from django.core.management.base import CommandError

from tenants.identity import dev_issuer
from tenants.identity.tokens import uses_dev_issuer
from tenants.management.base import MigratedDatabaseCommand
from tenants.models import Tenant
from tenants.roles import Role


class Command(MigratedDatabaseCommand):
    help = "Print a JWT signed by the development issuer (DEV_ISSUER_ENABLED, no OIDC_ISSUER)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", choices=Role.values, default=Role.VIEWER)
        parser.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")

    def handle(self, *args, **options):
        if settings.OIDC_ISSUER:
            raise CommandError("OIDC_ISSUER is set: tokens come from that issuer, not from Loupe.")
        if not uses_dev_issuer():
            raise CommandError(
                "The development issuer is off: run with DEV_ISSUER_ENABLED=true and "
                "DEV_ISSUER_ALLOW_WITHOUT_DEBUG=true, as `make run` does."
            )
        if not 1 <= options["ttl"] <= 30 * 24 * 3600:
            raise CommandError("--ttl must be between 1 second and 30 days")
        if not Tenant.objects.using("default").filter(slug=options["tenant"]).exists():
            raise CommandError(f"no tenant {options['tenant']!r}")
        self.stdout.write(
            dev_issuer.issue_token(
                email=options["email"],
                tenant=options["tenant"],
                role=options["role"],
                ttl_seconds=options["ttl"],
            )
        )
