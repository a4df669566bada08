from django.urls import path

from apps.datasets.consumers import ImportEventsConsumer
from apps.predictions.consumers import EvaluationEventsConsumer, InferenceRunEventsConsumer
from apps.training.consumers import TrainingRunEventsConsumer
from tenants.consumers import TenantEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", TenantEventsConsumer.as_asgi()),
    path("ws/imports/<int:job_id>/", ImportEventsConsumer.as_asgi()),
    path("ws/training-runs/<int:job_id>/", TrainingRunEventsConsumer.as_asgi()),
    path("ws/inference-runs/<int:job_id>/", InferenceRunEventsConsumer.as_asgi()),
    path("ws/evaluations/<int:job_id>/", EvaluationEventsConsumer.as_asgi()),
]
