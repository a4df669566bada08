"""Celery tasks carry their tenant and run in its schema, on both database aliases."""

from django.core.management import call_command
from django_tenants.utils import tenant_context

from loupe.celery import QUEUES, app


def test_task_sent_from_inside_a_tenant_runs_in_that_tenants_schema(
    celery_worker, tenant, other_tenant
):
    for each in (tenant, other_tenant):
        with tenant_context(each):
            result = app.send_task("workers.system.ping")
        assert result.get(timeout=30)["schema"] == each.schema_name


def test_every_queue_is_consumed_and_check_workers_reports_it(
    celery_worker, gpu_worker, tenant, capsys
):
    call_command("check_workers", tenant=tenant.slug, timeout=30)
    out = capsys.readouterr().out
    for queue in QUEUES:
        assert f"{queue}: " in out and f"schema {tenant.schema_name}" in out


def test_tasks_are_routed_to_their_queues():
    routes = app.amqp.router
    assert routes.route({}, "workers.training.train")["queue"].name == "gpu"
    assert routes.route({}, "workers.inference.predict")["queue"].name == "gpu"
    assert routes.route({}, "workers.indexing.drain_outbox")["queue"].name == "index"
    assert routes.route({}, "workers.system.ping")["queue"].name == "default"
