from django.urls import path

from tenants.api.views import (
    ApiKeyDetailView,
    ApiKeyListView,
    MemberDetailView,
    MemberListView,
    MeView,
    SessionView,
    TenantView,
)

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("tenant/", TenantView.as_view(), name="tenant"),
    path("members/", MemberListView.as_view(), name="member-list"),
    path("members/<int:member_id>/", MemberDetailView.as_view(), name="member-detail"),
    path("api-keys/", ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<int:key_id>/", ApiKeyDetailView.as_view(), name="api-key-detail"),
    path("session/", SessionView.as_view(), name="session"),
]
