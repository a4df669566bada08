"""Stable error codes for tenancy and provisioning."""

from __future__ import annotations

from enum import StrEnum


class TenantErrorCode(StrEnum):
    TENANT_NOT_FOUND = "tenant_not_found"
    TENANT_INACTIVE = "tenant_inactive"
    INVALID_SLUG = "invalid_slug"
    SLUG_TAKEN = "slug_taken"
    DOMAIN_TAKEN = "domain_taken"


class ProvisioningError(Exception):
    def __init__(self, code: TenantErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class MemberErrorCode(StrEnum):
    ALREADY_MEMBER = "already_member"
    LAST_OWNER = "last_owner"
    ROLE_ABOVE_YOURS = "role_above_yours"
