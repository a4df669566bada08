"""The identity API: who am I, the tenant, its members, its API keys, and sessions."""

from django.shortcuts import get_object_or_404
from django_tenants.utils import get_public_schema_name
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from loupe.api.errors import ApiError
from tenants import members
from tenants.api.serializers import (
    ApiKeySerializer,
    CreatedApiKeySerializer,
    InviteSerializer,
    MembershipSerializer,
    MeSerializer,
    NewApiKeySerializer,
    RoleSerializer,
    SessionSerializer,
    TenantSerializer,
)
from tenants.identity import api_keys, sessions
from tenants.identity.errors import AuthenticationFailed, AuthErrorCode, TooManyFailures
from tenants.identity.throttle import is_throttled, record_failure
from tenants.middleware import auth_error_response, client_address
from tenants.models import ApiKey, Membership
from tenants.roles import Role


class MeView(APIView):
    resource = "me"

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        identity = request.auth
        key = (
            {"id": identity.api_key_id, "name": identity.api_key_name}
            if identity.api_key_id
            else None
        )
        return Response(
            {
                "user": {"id": identity.user.pk, "email": identity.user.email},
                "tenant": {"slug": identity.tenant.slug, "name": identity.tenant.name},
                "role": identity.role,
                "via": identity.via,
                "api_key": key,
            }
        )


class TenantView(APIView):
    resource = "tenant"

    @extend_schema(responses=TenantSerializer)
    def get(self, request):
        return Response(TenantSerializer(request.tenant).data)

    @extend_schema(request=TenantSerializer, responses=TenantSerializer)
    def patch(self, request):
        data = TenantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = request.tenant
        tenant.name = data.validated_data["name"]
        tenant.save(update_fields=["name"])
        return Response(TenantSerializer(tenant).data)


def _memberships(request):
    return Membership.objects.using("default").select_related("user").filter(tenant=request.tenant)


class MemberListView(APIView):
    resource = "members"

    @extend_schema(responses=MembershipSerializer(many=True))
    def get(self, request):
        return Response(MembershipSerializer(_memberships(request).order_by("id"), many=True).data)

    @extend_schema(request=InviteSerializer, responses={201: MembershipSerializer})
    def post(self, request):
        data = InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = members.invite_member(
            tenant=request.tenant,
            email=data.validated_data["email"],
            role=Role(data.validated_data["role"]),
            actor_role=request.auth.role,
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    resource = "members"

    @extend_schema(request=RoleSerializer, responses=MembershipSerializer)
    def patch(self, request, member_id: int):
        membership = get_object_or_404(_memberships(request), pk=member_id)
        data = RoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = members.change_role(
            membership=membership,
            role=Role(data.validated_data["role"]),
            actor_role=request.auth.role,
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, member_id: int):
        membership = get_object_or_404(_memberships(request), pk=member_id)
        members.remove_member(membership=membership, actor_role=request.auth.role)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _api_keys(request):
    return (
        ApiKey.objects.using("default")
        .select_related("created_by", "tenant")
        .filter(tenant=request.tenant)
    )


class ApiKeyListView(APIView):
    resource = "api_keys"

    @extend_schema(responses=ApiKeySerializer(many=True))
    def get(self, request):
        return Response(
            ApiKeySerializer(_api_keys(request).order_by("-created_at"), many=True).data
        )

    @extend_schema(request=NewApiKeySerializer, responses={201: CreatedApiKeySerializer})
    def post(self, request):
        data = NewApiKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = Role(data.validated_data["role"])
        members.check_may_grant(actor_role=request.auth.role, role=role)
        api_key, secret = api_keys.create_api_key(
            tenant=request.tenant, name=data.validated_data["name"], role=role, actor=request.user
        )
        body = {**ApiKeySerializer(api_key).data, "key": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    resource = "api_keys"

    @extend_schema(responses={204: None}, description="Revoke the key; its sessions end at once.")
    def delete(self, request, key_id: int):
        api_keys.revoke_api_key(
            api_key=get_object_or_404(_api_keys(request), pk=key_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionView(APIView):
    """Trade an API key (header X-API-Key) for a session token valid for an hour."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={201: SessionSerializer},
        parameters=[OpenApiParameter("X-API-Key", str, OpenApiParameter.HEADER, required=True)],
    )
    def post(self, request):
        client = client_address(request)
        secret = request.headers.get("X-API-Key", "")
        try:
            if is_throttled(client):
                raise TooManyFailures(AuthErrorCode.TOO_MANY_FAILURES, "Too many failed attempts.")
            if not secret:
                raise AuthenticationFailed(
                    AuthErrorCode.NOT_AUTHENTICATED, "Send the key in X-API-Key."
                )
            api_key = api_keys.api_key_for_secret(secret)
        except AuthenticationFailed as exc:
            record_failure(client)
            return auth_error_response(exc)
        host_tenant = getattr(request, "tenant", None)
        on_tenant_host = (
            host_tenant is not None and host_tenant.schema_name != get_public_schema_name()
        )
        if on_tenant_host and host_tenant.pk != api_key.tenant_id:
            raise ApiError(
                status=403,
                code=AuthErrorCode.TENANT_MISMATCH,
                detail="This key is for another tenant.",
            )
        token, expires_at = sessions.create_session(api_key=api_key)
        api_keys.mark_used(api_key)
        return Response(
            {"session_token": token, "expires_at": expires_at}, status=status.HTTP_201_CREATED
        )
