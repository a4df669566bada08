"""What a job's end means to others (webhooks) is theirs to act on: `job_finished` is sent in
the transaction that ends a job of any kind, so what a receiver writes commits with the end,
or not at all. Receivers take `job`, `kind` (its JobKind's name) and `status`, the final one."""

from django.dispatch import Signal

job_finished = Signal()
