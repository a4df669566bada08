"""A tenant's bytes stored, counted on local files and in the S3 bucket alike: what its usage
shows, and what a ZIP import's images are held to (the imports run in this process, as
`manage.py import_dataset` runs them)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError
from django.test import override_settings
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import TenantQuota
from tenants.roles import Role
from tests.datasets.conftest import all_rows
from tests.storage.conftest import import_here, png, zip_of
from tests.support.database import wait_for_replica_catch_up


@override_settings(IMPORT_BATCH_SIZE=1)
def test_a_zip_import_stops_at_the_bytes_the_tenant_has_left_on_each_kind_of_storage(
    store, tenant, editor, dataset, make_member, client_for, tmp_path
):
    default_storage.save(f"{tenant.schema_name}/models/m.pt", ContentFile(b"w" * 500))
    images = {"a.png": png(4, 3), "b.png": png(6, 5), "c.png": png(8, 8)}
    room = len(images["a.png"]) + len(images["b.png"])
    with schema_context(get_public_schema_name()):
        TenantQuota.objects.create(tenant=tenant, storage_bytes=500 + room)
    path = tmp_path / "images.zip"
    path.write_bytes(zip_of(images))
    with pytest.raises(CommandError, match=r"^storage_quota_exceeded:"):
        import_here(tenant, dataset["id"], path)
    wait_for_replica_catch_up()

    assert sorted(r["external_id"] for r in all_rows(editor, dataset["id"])) == ["a", "b"]
    usage = client_for(tenant, make_member(tenant, Role.ADMIN)).get("/api/v1/tenant/usage/")
    # The model counts as the images do; the third image was never stored.
    assert usage.json()["storage_bytes"] == {"used": 500 + room, "limit": 500 + room}
