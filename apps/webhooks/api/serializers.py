from rest_framework import serializers

from apps.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from loupe.api.inputs import JsonInput


class WebhookSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = Webhook
        fields = [
            "id", "url", "events", "description", "active", "disabled_reason",
            "failures_in_a_row", "created_by", "created_at", "updated_at",
        ]  # fmt: skip


class CreatedWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="The key each delivery is signed with: shown this once, never again."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookInputSerializer(JsonInput):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookChangeSerializer(WebhookInputSerializer):
    active = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event", "status", "attempts", "next_attempt_at", "response_status",
            "response_body", "error", "duration_ms", "created_at", "finished_at", "payload",
        ]  # fmt: skip
