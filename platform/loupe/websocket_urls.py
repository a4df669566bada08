from django.urls import path

from apps.datasets.consumers import ImportProgressConsumer
from tenants.consumers import TenantEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", TenantEventsConsumer.as_asgi()),
    path("ws/imports/<int:job_id>/", ImportProgressConsumer.as_asgi()),
]
