"""The Celery broker's queues: how many tasks wait in each, the LLEN of its Redis list.

A task a worker has taken is no longer counted, though it stays unacknowledged until it ends
(acks_late): the gauge is the work that no worker has started. Tasks sent with a priority
wait in lists of their own and are not counted; Loupe sends none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import lru_cache

import redis
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily
from redis import RedisError

from loupe.celery import QUEUES

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _broker() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2
    )


def _queue_lengths() -> list[int]:
    with _broker().pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            pipe.llen(queue)
        return pipe.execute()


class QueueCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "loupe_celery_queue_length",
            "Tasks waiting in each Celery queue (LLEN of its list on the Redis broker).",
            labels=["queue"],
        )
        try:
            lengths = _queue_lengths()
        except RedisError:
            # No series rather than false zeros: the queues' state is unknown.
            logger.warning("queue lengths left out of the metrics: the broker did not answer")
        else:
            for queue, length in zip(QUEUES, lengths, strict=True):
                family.add_metric([queue], length)
        yield family
