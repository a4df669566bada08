"""django-tenants' migrate_schemas, which also keeps the template schema current.

New tenants are cloned from TENANT_BASE_SCHEMA, so every migrate of the tenant apps
migrates the template too (creating it on first run).
"""

from django.conf import settings
from django.db import connections
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_tenant_database_alias, schema_exists

from loupe.db.pinning import pin_to_primary
from tenants.schemas import template_lock


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        # Migrations run on the primary, and so must every read they make: the replica
        # may not have replayed the tables created a moment ago.
        pin_to_primary()
        super().handle(*args, **options)
        if self.sync_tenant and not self.schema_name_is_single_tenant():
            self.migrate_template()

    def schema_name_is_single_tenant(self) -> bool:
        return bool(self.schema_name) and self.schema_name != self.PUBLIC_SCHEMA_NAME

    def migrate_template(self) -> None:
        template = settings.TENANT_BASE_SCHEMA
        alias = self.options.get("database") or get_tenant_database_alias()
        if not schema_exists(template, alias):
            with connections[alias].cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        executor = get_executor(codename="standard")(self.args, self.options)
        with template_lock():  # no tenant is copied from it half migrated
            executor.run_migrations(tenants=[template])
