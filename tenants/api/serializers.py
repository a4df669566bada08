from rest_framework import serializers

from loupe.api.inputs import JsonInput
from tenants.models import ApiKey, Membership
from tenants.roles import Role


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "created_at"]


class InviteSerializer(JsonInput):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class RoleSerializer(JsonInput):
    role = serializers.ChoiceField(choices=Role.choices)


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "role",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]


class NewApiKeySerializer(JsonInput):
    name = serializers.CharField(max_length=200)
    role = serializers.ChoiceField(choices=Role.choices)


class CreatedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself: shown this once, never again.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class SessionSerializer(serializers.Serializer):
    session_token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TenantSerializer(JsonInput):
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=200)


class MeSerializer(serializers.Serializer):
    user = serializers.DictField()
    tenant = TenantSerializer()
    role = serializers.CharField()
    via = serializers.CharField()
    api_key = serializers.DictField(allow_null=True)
