"""Retention: delete finished jobs in small batches, keeping idempotency keys their promised time."""
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from queue_app import clock
from queue_app.models import Job


def purge(statuses: list[str], cutoff: datetime, *, batch_size: int = 1000, now: datetime | None = None) -> int:
    """Delete jobs in `statuses` finished before `cutoff`; returns how many went."""
    now = now or clock.now()
    keep_keys_after = now - timedelta(hours=settings.JOBQUEUE_IDEMPOTENCY_RETENTION_HOURS)
    eligible = Job.objects.filter(status__in=statuses, finished_at__lt=cutoff).exclude(
        Q(idempotency_key__isnull=False) & Q(created_at__gte=keep_keys_after))
    total = 0
    while True:
        ids = list(eligible.values_list("id", flat=True)[:batch_size])
        if not ids:
            return total
        with transaction.atomic():
            total += Job.objects.filter(id__in=ids, status__in=statuses).delete()[1].get("queue_app.Job", 0)
