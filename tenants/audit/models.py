"""The audit log: who did what to a tenant's members, keys, data or standing, when, and from
which address. The table is in each tenant's schema, so a tenant's admins read their own
entries and no one else's; an operator's actions on a tenant are written there too."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    MEMBER_INVITED = "member.invited", "member invited"
    MEMBER_ROLE_CHANGED = "member.role_changed", "member's role changed"
    MEMBER_REMOVED = "member.removed", "member removed"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    TENANT_DEACTIVATED = "tenant.deactivated", "tenant deactivated"
    TENANT_ACTIVATED = "tenant.activated", "tenant activated"
    DATASET_DELETED = "dataset.deleted", "dataset deleted"
    PROJECT_DELETED = "project.deleted", "project deleted"
    WEBHOOK_CREATED = "webhook.created", "webhook created"
    WEBHOOK_CHANGED = "webhook.changed", "webhook changed"
    WEBHOOK_DELETED = "webhook.deleted", "webhook deleted"

    @property
    def target_type(self) -> str:
        """What the action is done to: the part before the dot."""
        return self.value.partition(".")[0]


class ActorKind(models.TextChoices):
    USER = "user", "a member, signed in"
    API_KEY = "api_key", "an API key's session"
    OPERATOR = "operator", "a platform operator"
    SYSTEM = "system", "no request (a command, the shell)"


class AuditEntry(models.Model):
    """One recorded action. Users and keys live in the public schema and may be deleted or
    renamed later, so an entry keeps their ids and names as they were, not a foreign key."""

    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.EmailField(blank=True)
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_api_key_name = models.CharField(max_length=200, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    target_type = models.CharField(max_length=32)
    target_id = models.BigIntegerField()
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_created_idx"),
            models.Index(fields=["action", "created_at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type} {self.target_id}"
