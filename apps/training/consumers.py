"""A training run's events over WebSocket: `ws/training-runs/<id>/?after=N`."""

from apps.jobs.consumers import JobEventsConsumer
from apps.training.models import KIND


class TrainingRunEventsConsumer(JobEventsConsumer):
    resource, kind = "training", KIND
