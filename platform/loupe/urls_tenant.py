"""URLs on a tenant's host: its API, its admin with its live pages, probes and API docs, and
where online predict is served (the predict server, not this process)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.jobs.pages import jobs_page
from apps.training.pages import experiment_page, run_page
from loupe.api.predict_elsewhere import predict_elsewhere
from loupe.health import healthz, readyz
from tenants.admin_sites import tenant_admin_site
from tenants.api import well_known

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path(".well-known/openid-configuration", well_known.openid_configuration),
    path(".well-known/jwks.json", well_known.jwks, name="jwks"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("admin/live/jobs/", tenant_admin_site.admin_view(jobs_page), name="live-jobs"),
    path(
        "admin/live/training-runs/<int:run_id>/",
        tenant_admin_site.admin_view(run_page),
        name="live-run",
    ),
    path(
        "admin/live/experiments/<path:name>/",
        tenant_admin_site.admin_view(experiment_page),
        name="live-experiment",
    ),
    path("admin/", tenant_admin_site.urls),
    path(
        "api/v1/models/<str:name>/versions/<int:number>/predict/",
        predict_elsewhere,
        name="predict-elsewhere",
    ),
    path("", include("loupe.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="loupe.urls_api"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

handler404 = "loupe.api.errors.not_found"
handler500 = "loupe.api.errors.server_error"
