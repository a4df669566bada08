"""The Elasticsearch client, one per process, or None where none is configured."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from elasticsearch import Elasticsearch


@lru_cache(maxsize=1)
def elasticsearch_client() -> Elasticsearch | None:
    if not settings.ELASTICSEARCH_URL:
        return None
    return Elasticsearch(settings.ELASTICSEARCH_URL, request_timeout=5, retry_on_timeout=False)
