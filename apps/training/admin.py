from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from apps.jobs.models import JobEvent
from apps.training import services
from apps.training.models import EpochMetric, ModelVersion, TrainingRun
from loupe.api.errors import ApiError
from tenants.admin_sites import TenantRecordAdmin, TenantTabularInline, tenant_admin_site

_RUN_FIELDS = [
    "name", "status", "error", "spec", "hyperparameters", "slice", "snapshot", "model_name",
    "experiment", "parent_version", "classes", "split", "device", "epoch", "position",
    "batch_size", "metrics", "attempts", "worker", "heartbeat_at", "checkpoint",
    "best_checkpoint", "created_by", "created_at", "started_at", "finished_at",
]  # fmt: skip


class EpochMetricInline(TenantTabularInline):
    model = EpochMetric
    fields = ["epoch", "metrics", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrainingRun, site=tenant_admin_site)
class TrainingRunAdmin(TenantRecordAdmin):
    # A run is a record of what trained on what: its files and events go with it, and a
    # running one's worker would lose it.
    deletable = False
    list_display = ["id", "name", "spec", "status", "epoch", "device", "created_at", "live_page"]
    list_filter = ["status", "spec", "experiment"]
    search_fields = ["name", "model_name", "experiment"]
    fields = ["live_page", *_RUN_FIELDS]
    readonly_fields = ["live_page", *_RUN_FIELDS]
    inlines = [EpochMetricInline]
    actions = ["cancel"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("train_row_ids", "validation_row_ids")

    @admin.display(description="live page")
    def live_page(self, run) -> str:
        return format_html('<a href="{}">curves and events</a>', reverse("live-run", args=[run.pk]))

    @admin.action(description="Cancel the selected runs")
    def cancel(self, request, queryset) -> None:
        for run in queryset:
            try:
                services.cancel_run(run=run, actor=request.user)
            except ApiError as error:
                self.message_user(request, f"{run}: {error.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{run}: cancelled")


@admin.register(JobEvent, site=tenant_admin_site)
class JobEventAdmin(TenantRecordAdmin):
    deletable = False
    list_display = ["kind", "job_id", "seq", "type", "created_at"]
    list_filter = ["kind", "type"]
    search_fields = ["=job_id"]
    fields = ["kind", "job_id", "seq", "type", "data", "created_at"]
    readonly_fields = fields
    ordering = ["kind", "-job_id", "seq"]


@admin.register(ModelVersion, site=tenant_admin_site)
class ModelVersionAdmin(TenantRecordAdmin):
    deletable = False
    list_display = ["model", "version", "spec", "training_run", "created_at"]
    list_filter = ["model", "spec"]
    fields = [
        "model", "version", "spec", "classes", "hyperparameters", "metrics", "training_run",
        "snapshot", "artifact", "created_at",
    ]  # fmt: skip
    readonly_fields = fields
