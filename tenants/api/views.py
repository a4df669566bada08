"""The identity API: who am I, the tenant, its members, its API keys, and sessions."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import members, selectors
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
from tenants.identity import api_keys
from tenants.identity.client_address import request_client_address
from tenants.identity.errors import AuthenticationFailed
from tenants.middleware import auth_error_response
from tenants.roles import Role
from tenants.services import rename_tenant


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
        tenant = rename_tenant(tenant=request.tenant, name=data.validated_data["name"])
        return Response(TenantSerializer(tenant).data)


class MemberListView(APIView):
    resource = "members"

    @extend_schema(responses=MembershipSerializer(many=True))
    def get(self, request):
        return Response(
            MembershipSerializer(
                selectors.memberships(tenant=request.tenant).order_by("id"), many=True
            ).data
        )

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
        membership = get_object_or_404(selectors.memberships(tenant=request.tenant), pk=member_id)
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
        membership = get_object_or_404(selectors.memberships(tenant=request.tenant), pk=member_id)
        members.remove_member(membership=membership, actor_role=request.auth.role)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyListView(APIView):
    resource = "api_keys"

    @extend_schema(responses=ApiKeySerializer(many=True))
    def get(self, request):
        return Response(
            ApiKeySerializer(
                selectors.api_keys(tenant=request.tenant).order_by("-created_at"), many=True
            ).data
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

    @extend_schema(
        responses={204: None, 503: None},
        description="Revoke the key; its sessions end at once. 503 (revocation_unavailable) "
        "when they cannot be ended: nothing changed, retry.",
    )
    def delete(self, request, key_id: int):
        api_keys.revoke_api_key(
            api_key=get_object_or_404(selectors.api_keys(tenant=request.tenant), pk=key_id),
            actor=request.user,
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
        try:
            token, expires_at = api_keys.trade_api_key(
                secret=request.headers.get("X-API-Key", ""),
                client=request_client_address(request),
                host_tenant=getattr(request, "tenant", None),
            )
        except AuthenticationFailed as exc:
            return auth_error_response(exc)
        return Response(
            {"session_token": token, "expires_at": expires_at}, status=status.HTTP_201_CREATED
        )
