"""Tenants, their domains, users and memberships: all in the public schema."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

from tenants.roles import Role


class Tenant(TenantMixin):
    """An organisation. Its data lives in the Postgres schema named `schema_name`."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    # Schemas are cloned from TENANT_BASE_SCHEMA by provisioning, never created on save.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Domain(DomainMixin):
    """A host name that routes requests to its tenant."""

    def __str__(self) -> str:
        return self.domain


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("a user needs an e-mail address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)  # None gives an unusable password (OIDC-only users)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Identified by e-mail; `subject` is their id at the OpenID Connect issuer."""

    email = models.EmailField(unique=True)
    subject = models.CharField(max_length=255, unique=True, null=True, blank=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email


class Membership(models.Model):
    """A user's role in one tenant."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.role}"


class ApiKey(models.Model):
    """A machine client's key to one tenant. Only a SHA-256 of the key is stored; the key
    itself is shown once, when created."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=16, choices=Role.choices)
    prefix = models.CharField(
        max_length=12, help_text="the key's first characters, to tell keys apart"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"], name="api_key_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class TenantQuota(models.Model):
    """An operator's overrides of one tenant's limits (in the admin); a blank field takes the
    platform's default, the QUOTA_* settings (tenants/quotas.py)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="quota")
    storage_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="bytes of uploads and media stored"
    )
    rows = models.PositiveBigIntegerField(null=True, blank=True, help_text="rows stored")
    concurrent_imports = models.PositiveIntegerField(null=True, blank=True)
    concurrent_training_runs = models.PositiveIntegerField(null=True, blank=True)
    concurrent_inference_runs = models.PositiveIntegerField(null=True, blank=True)
    concurrent_evaluations = models.PositiveIntegerField(null=True, blank=True)
    concurrent_prediction_imports = models.PositiveIntegerField(null=True, blank=True)
    training_runs = models.PositiveIntegerField(
        null=True, blank=True, help_text="training runs queued or running at once"
    )

    def __str__(self) -> str:
        return f"quota of {self.tenant}"
