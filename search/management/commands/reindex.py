"""Rebuild a tenant's search index and swap it in: `reindex --tenant acme`."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context
from elasticsearch import ApiError, TransportError
from tqdm import tqdm

from search.bulk import BulkFailed
from search.client import elasticsearch_client
from search.reindex import ReindexRunning, reindex
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Build a new index version of a tenant from Postgres, then point the alias at it."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")

    def handle(self, *args, **options):
        if elasticsearch_client() is None:
            raise CommandError("no Elasticsearch is configured (set ELASTICSEARCH_URL)")
        tenant = Tenant.objects.using("default").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        with tenant_context(tenant), tqdm(unit=" rows", desc=f"reindex {tenant.slug}") as bar:

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                result = reindex(on_progress=advance)
            except ReindexRunning:
                raise CommandError(f"a reindex of {tenant.slug} is already running") from None
            except (TransportError, ApiError, BulkFailed) as exc:
                raise CommandError(f"reindex failed, the live index is unchanged: {exc}") from exc
        self.stdout.write(f"indexed {result.rows} rows into {result.index}")
        for name in result.dropped:
            self.stdout.write(f"dropped {name}")
