"""Prometheus metrics, served at /metrics (docs/metrics.md).

http.py records every HTTP request; middleware.py records them and answers /metrics;
access.py says who may read it; exposition.py renders one scrape, with the collectors that
read the platform's state at scrape time: tenant_data.py (jobs, indexing outboxes),
queues.py (the Celery broker's queues) and components.py (what /readyz checks).
"""
