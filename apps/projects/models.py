from django.conf import settings
from django.db import models


class Project(models.Model):
    """A team's body of work: its datasets, slices, models and predictions."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Users live in the public schema; no cross-schema constraint, the id is kept as is.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name"], name="project_name_unique")]
        indexes = [models.Index(fields=["created_at", "id"], name="project_created_idx")]

    def __str__(self) -> str:
        return self.name
