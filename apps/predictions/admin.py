from django.contrib import admin, messages

from apps.predictions import services
from apps.predictions.models import INFERENCE_KIND, Evaluation, InferenceRun, Prediction
from loupe.api.errors import ApiError
from tenants.admin_sites import TenantRecordAdmin, tenant_admin_site

_JOB_FIELDS = [
    "status", "error", "model_version", "slice", "snapshot", "rows_total", "attempts", "worker",
    "heartbeat_at", "created_by", "created_at", "started_at", "finished_at",
]  # fmt: skip


class _JobAdmin(TenantRecordAdmin):
    # A job is a record of what ran on what, and a running one's worker would lose it.
    deletable = False
    list_filter = ["status"]


@admin.register(InferenceRun, site=tenant_admin_site)
class InferenceRunAdmin(_JobAdmin):
    actions = ["cancel"]
    list_display = ["id", "model_version", "status", "rows_done", "rows_total", "created_at"]
    fields = [
        *_JOB_FIELDS, "rows_done", "rows_skipped", "predictions_written", "chunk_size",
        "batch_size", "device",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.action(description="Cancel the selected runs")
    def cancel(self, request, queryset) -> None:
        for run in queryset:
            try:
                services.cancel_job(job=run, kind=INFERENCE_KIND)
            except ApiError as error:
                self.message_user(request, f"{run}: {error.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{run}: cancelled")


@admin.register(Evaluation, site=tenant_admin_site)
class EvaluationAdmin(_JobAdmin):
    list_display = ["id", "model_version", "task", "status", "created_at"]
    fields = [*_JOB_FIELDS, "task", "metrics"]
    readonly_fields = fields


@admin.register(Prediction, site=tenant_admin_site)
class PredictionAdmin(TenantRecordAdmin):
    deletable = False
    list_display = ["id", "data_row", "model_version", "class_name", "score", "rank", "eval"]
    list_filter = ["eval", "source"]
    search_fields = ["=data_row__id", "class_name"]
    fields = [
        "data_row", "model_version", "class_name", "score", "rank", "geometry_type", "geometry",
        "area", "source", "eval", "iou", "matched_annotation", "created_at",
    ]  # fmt: skip
    readonly_fields = fields
    list_select_related = ["data_row", "model_version__model"]
    # The largest table of all: no count of it on every page.
    show_full_result_count = False
