"""The indexing outbox and the index versions of a tenant (tenant schema)."""

from django.db import models
from django.db.models.functions import Now


class OutboxEntry(models.Model):
    """A data row whose index document must be rewritten (or deleted, if the row is gone).

    Written by Postgres triggers on data rows and annotations (search/triggers.py) in the
    same transaction as the change, whatever wrote it: imports, the API, the admin."""

    id = models.BigAutoField(primary_key=True)
    data_row_id = models.BigIntegerField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "search_outbox"
        verbose_name_plural = "outbox entries"
        # A drain takes every entry of the rows it writes (search/outbox.py).
        indexes = [models.Index(fields=["data_row_id"], name="outbox_row_idx")]

    def __str__(self) -> str:
        return f"row {self.data_row_id}"


class IndexState(models.TextChoices):
    BUILDING = "building"
    LIVE = "live"


class IndexVersion(models.Model):
    """One versioned Elasticsearch index of the tenant. The live one is behind the alias;
    one being built by a reindex also receives every change the outbox carries meanwhile."""

    name = models.CharField(max_length=255, unique=True)
    state = models.CharField(max_length=16, choices=IndexState.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"


class IndexFailure(models.Model):
    """A row Elasticsearch refused for good (a 4xx on its document: too many nested entries,
    a value it cannot map). Its outbox entry is dropped so the rows behind it keep flowing;
    the row is indexed again with its next change or by a reindex, which clears this."""

    data_row_id = models.BigIntegerField(unique=True)
    reason = models.TextField()
    created_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"row {self.data_row_id}: {self.reason[:60]}"
