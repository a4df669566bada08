"""ASGI entry point of the predict server: online predict, in a process that holds torch
(the API's process never imports it). `make run` starts it beside the API, on SERVING_PORT.

Run from the repository root:
`uvicorn --app-dir platform loupe.serving_asgi:application --port 8001`.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupe.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from workers.engines.trainer import pick_device  # noqa: E402
from workers.serving.app import ServingApp  # noqa: E402
from workers.serving.predictor import Predictor  # noqa: E402

application = ServingApp(Predictor(capacity=settings.PREDICT_CACHE_VERSIONS, device=pick_device()))

# As in loupe.asgi: what start-up loaded (torch above all) lives as long as the process, and
# out of the collector's view a full collection no longer stalls a call walking it.
gc.collect()
gc.freeze()
