"""The events of inference runs and evaluations over WebSocket: `ws/inference-runs/<id>/`
and `ws/evaluations/<id>/`, with `?after=N`."""

from apps.jobs.consumers import JobEventsConsumer
from apps.predictions.models import EVALUATION_KIND, INFERENCE_KIND


class InferenceRunEventsConsumer(JobEventsConsumer):
    resource, kind = "predictions", INFERENCE_KIND


class EvaluationEventsConsumer(JobEventsConsumer):
    resource, kind = "predictions", EVALUATION_KIND
