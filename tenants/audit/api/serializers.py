from rest_framework import serializers

from loupe.api.inputs import QueryInput
from tenants.audit.models import AuditAction, AuditEntry


class AuditActorSerializer(serializers.Serializer):
    kind = serializers.CharField(source="actor_kind")
    user_id = serializers.IntegerField(source="actor_user_id", allow_null=True)
    email = serializers.CharField(source="actor_email")
    api_key_id = serializers.IntegerField(source="actor_api_key_id", allow_null=True)
    api_key_name = serializers.CharField(source="actor_api_key_name")


class AuditTargetSerializer(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.IntegerField(source="target_id")


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = AuditActorSerializer(source="*", read_only=True)
    target = AuditTargetSerializer(source="*", read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "action", "actor", "target", "detail", "client_address"]


class AuditQuerySerializer(QueryInput):
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="only entries from this time on")
