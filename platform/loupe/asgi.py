"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Run from the repository root: `uvicorn --app-dir platform loupe.asgi:application`.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupe.settings")
# Database connections per process and database, pooled (see loupe.database_config): enough for
# every request a process serves at once to hold one.
os.environ.setdefault("DB_POOL_SIZE", "20")

from django.conf import settings
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from loupe.upload_gate import UploadGate  # noqa: E402
from loupe.websocket_urls import websocket_urlpatterns  # noqa: E402
from tenants.websocket import TenantWebSocketMiddleware  # noqa: E402

http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": UploadGate(http_app),
        # Sockets authenticate with a bearer token, or the admin's session cookie only when
        # their Origin is the host itself (tenants/identity/browser_sessions.py).
        "websocket": TenantWebSocketMiddleware(URLRouter(websocket_urlpatterns)),
    }
)

# Everything loaded at start-up lives as long as the process: moved out of the collector's
# view, a full collection no longer walks it, which would stall a request for ~100 ms.
gc.collect()
gc.freeze()
