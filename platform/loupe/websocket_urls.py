from django.urls import path

from tenants.consumers import TenantEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", TenantEventsConsumer.as_asgi()),
]
