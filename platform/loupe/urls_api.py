"""The tenant REST API, version 1 (also the source of the OpenAPI schema)."""

from django.urls import include, path

from loupe.api.root import api_root
from loupe.api.usage import TenantUsageView

urlpatterns = [
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/", include("tenants.audit.api.urls")),
    path("api/v1/tenant/usage/", TenantUsageView.as_view(), name="tenant-usage"),
    path("api/v1/", include("apps.projects.api.urls")),
    path("api/v1/", include("apps.datasets.api.urls")),
    path("api/v1/", include("apps.slices.api.urls")),
    path("api/v1/", include("apps.training.api.urls")),
    path("api/v1/", include("apps.predictions.api.urls")),
    path("api/v1/", include("apps.predictions.api.file_urls")),
    path("api/v1/", include("apps.jobs.api.urls")),
    path("api/v1/", include("apps.webhooks.api.urls")),
]
