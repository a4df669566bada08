"""URLs on a tenant's host: its API, its admin, probes and API docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loupe.health import healthz, readyz
from tenants.admin_sites import tenant_admin_site

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", tenant_admin_site.urls),
    path("", include("loupe.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="loupe.urls_api"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
