"""Rebuild a tenant's search index and swap it in: `reindex --tenant acme`.

Exits non-zero, the live index unchanged, when another reindex of the tenant runs or
Elasticsearch fails; what a reindex that died left behind is discarded first."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context
from elasticsearch import ApiError, TransportError
from tqdm import tqdm

from search.bulk import BulkFailed
from search.client import elasticsearch_client
from search.reindex import CHUNK_SIZE, ReindexRunning, reindex
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Build a new index version of a tenant from Postgres, then point the alias at it."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=CHUNK_SIZE,
            help=f"rows read and sent to Elasticsearch at a time (default {CHUNK_SIZE})",
        )

    def handle(self, *args, **options):
        if elasticsearch_client() is None:
            raise CommandError("no Elasticsearch is configured (set ELASTICSEARCH_URL)")
        tenant = Tenant.objects.using("default").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        with tenant_context(tenant), tqdm(unit=" rows", desc=f"reindex {tenant.slug}") as bar:

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                result = reindex(chunk_size=options["chunk_size"], on_progress=advance)
            except ReindexRunning:
                raise CommandError(
                    f"another reindex of {tenant.slug} is running: this one changed nothing"
                ) from None
            except (TransportError, ApiError, BulkFailed) as exc:
                raise CommandError(f"reindex failed, the live index is unchanged: {exc}") from exc
        for name in result.discarded:
            self.stdout.write(f"discarded {name}, left behind by an earlier reindex")
        self.stdout.write(f"indexed {result.rows} rows into {result.index}")
        for name in result.dropped:
            self.stdout.write(f"dropped {name}")
