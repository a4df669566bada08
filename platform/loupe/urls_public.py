"""URLs on the public host(s): operators' admin, probes and API docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loupe.health import healthz, readyz
from tenants.admin_sites import public_admin_site
from tenants.api import dev_sign_in, well_known
from tenants.api.views import SessionView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path(".well-known/openid-configuration", well_known.openid_configuration),
    path(".well-known/jwks.json", well_known.jwks, name="jwks"),
    path("dev-issuer/authorize/", dev_sign_in.authorize, name="dev-issuer-authorize"),
    path("dev-issuer/token/", dev_sign_in.token, name="dev-issuer-token"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("admin/", public_admin_site.urls),
    path("api/v1/session/", SessionView.as_view(), name="session"),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="loupe.urls_api"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

handler404 = "loupe.api.errors.not_found"
handler500 = "loupe.api.errors.server_error"
