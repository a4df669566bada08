from django.contrib import admin

from apps.webhooks import services
from apps.webhooks.models import Webhook, WebhookDelivery
from tenants.admin_sites import TenantRecordAdmin, TenantTabularInline, tenant_admin_site

# Never the secret: it was shown once, to whoever made the webhook.
_WEBHOOK_FIELDS = [
    "url", "events", "description", "active", "disabled_reason", "failures_in_a_row",
    "created_by", "created_at", "updated_at",
]  # fmt: skip
_DELIVERY_FIELDS = [
    "uuid", "event", "status", "attempts", "response_status", "error", "created_at",
    "finished_at",
]  # fmt: skip


class DeliveryInline(TenantTabularInline):
    model = WebhookDelivery
    fields = _DELIVERY_FIELDS
    readonly_fields = _DELIVERY_FIELDS
    ordering = ["-created_at"]
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Webhook, site=tenant_admin_site)
class WebhookAdmin(TenantRecordAdmin):
    list_display = ["id", "url", "active", "failures_in_a_row", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    fields = _WEBHOOK_FIELDS
    readonly_fields = _WEBHOOK_FIELDS
    inlines = [DeliveryInline]

    # Through the service, as the API deletes: the audit log records it.
    def delete_model(self, request, obj) -> None:
        services.delete_webhook(webhook=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for webhook in queryset:
            services.delete_webhook(webhook=webhook, actor=request.user)
