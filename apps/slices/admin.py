from django import forms
from django.contrib import admin, messages

from apps.slices import queries, services
from apps.slices.models import Slice, SliceSnapshot
from loupe.api.errors import ApiError
from tenants.admin_sites import TenantModelAdmin, TenantRecordAdmin, tenant_admin_site


class SliceForm(forms.ModelForm):
    class Meta:
        model = Slice
        fields = ["dataset", "name", "query"]

    def clean_query(self) -> str:
        query = self.cleaned_data["query"]
        try:
            queries.validate(query)
        except ApiError as error:
            raise forms.ValidationError(str(error.detail)) from None
        return query


@admin.register(Slice, site=tenant_admin_site)
class SliceAdmin(TenantModelAdmin):
    form = SliceForm
    list_display = ["name", "dataset", "query", "updated_at"]
    list_filter = ["dataset"]
    search_fields = ["name", "query"]
    raw_id_fields = ["dataset"]
    actions = ["take_snapshot"]

    @admin.action(description="Take a snapshot of the selected slices")
    def take_snapshot(self, request, queryset) -> None:
        for slice in queryset:
            try:
                snapshot = services.create_snapshot(slice=slice, actor=request.user)
            except ApiError as error:
                self.message_user(request, f"{slice}: {error.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{snapshot}: {snapshot.row_count} rows")


@admin.register(SliceSnapshot, site=tenant_admin_site)
class SliceSnapshotAdmin(TenantRecordAdmin):
    list_display = ["slice", "number", "row_count", "created_at"]
    list_filter = ["slice"]
    fields = ["slice", "number", "query", "row_count", "created_at"]
    readonly_fields = fields
