"""URLs on the public host(s): operators' admin, probes and API docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loupe.health import healthz, readyz
from tenants.admin_sites import public_admin_site

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", public_admin_site.urls),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="loupe.urls_api"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
