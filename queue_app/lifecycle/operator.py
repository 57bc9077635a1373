"""Operator transitions: cancel (PENDING/FAILED -> CANCELLED) and redrive (DLQ/CANCELLED -> PENDING)."""
from collections import Counter
from datetime import datetime

from django.db import transaction

from queue_app import clock, tallies, wakeup
from queue_app.errors import InvalidTransition
from queue_app.logs import event
from queue_app.models import Job, Status
from queue_app.quotas import admit_redrive

CANCELLABLE = (Status.PENDING, Status.FAILED)
REDRIVABLE = (Status.DLQ, Status.CANCELLED)


def _ids(jobs) -> list:
    return [j.pk if isinstance(j, Job) else j for j in jobs]


def cancel(job: Job, *, now: datetime | None = None, by: str = "") -> Job:
    """Cancel one job before it runs, or raise InvalidTransition."""
    if cancel_many([job.pk], now=now, by=by) != 1:
        job.refresh_from_db()
        raise InvalidTransition(f"A {job.status} job cannot be cancelled.", status=job.status)
    job.refresh_from_db()
    return job


def cancel_many(job_ids, *, now: datetime | None = None, by: str = "") -> int:
    """Cancel every listed job that is still PENDING or FAILED; returns how many changed."""
    now = now or clock.now()
    ids = _ids(job_ids)
    with transaction.atomic():
        # Lock the rows (PostgreSQL) so a claim committing meanwhile is seen, not silently lost.
        changed = list(Job.objects.filter(pk__in=ids, status__in=CANCELLABLE).select_for_update()
                       .values_list("id", "task", "queue"))
        Job.objects.filter(pk__in=[c[0] for c in changed], status__in=CANCELLABLE).update(
            status=Status.CANCELLED, finished_at=now, updated_at=now)
        tallies.record(Counter(("cancelled", c[2]) for c in changed), now)
    for job_id, task, queue in changed:
        event("cancelled", job_id=str(job_id), task=task, queue=queue, worker=by or None)
    return len(changed)


def redrive(job: Job, *, now: datetime | None = None, by: str = "") -> Job:
    """Send a DLQ or CANCELLED job back to PENDING with a fresh retry budget."""
    if redrive_many([job.pk], now=now, by=by) != 1:
        job.refresh_from_db()
        raise InvalidTransition(f"A {job.status} job cannot be retried.", status=job.status)
    job.refresh_from_db()
    return job


def redrive_many(job_ids, *, now: datetime | None = None, by: str = "") -> int:
    """Redrive every listed DLQ/CANCELLED job, within each owner's max_active; all or nothing."""
    now = now or clock.now()
    ids = _ids(job_ids)
    with transaction.atomic():
        rows = list(Job.objects.filter(pk__in=ids, status__in=REDRIVABLE).select_for_update()
                    .values_list("id", "owner_id", "task", "queue"))
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.in_bulk(list({r[1] for r in rows}))
        for owner_id, n in Counter(r[1] for r in rows).items():
            admit_redrive(users[owner_id], n)
        Job.objects.filter(pk__in=[r[0] for r in rows], status__in=REDRIVABLE).update(
            status=Status.PENDING, attempts=0, run_at=now, finished_at=None, started_at=None, result=None,
            updated_at=now)
        tallies.record(Counter(("redriven", r[3]) for r in rows), now)
        wakeup.notify(sorted({r[3] for r in rows}))
    for job_id, _owner, task, queue in rows:
        event("redriven", job_id=str(job_id), task=task, queue=queue, attempt=0, worker=by or None)
    return len(rows)


def discard_many(job_ids, *, now: datetime | None = None, by: str = "") -> int:
    """Discard dead-lettered jobs (DLQ -> CANCELLED, still redrivable); returns how many changed."""
    now = now or clock.now()
    ids = _ids(job_ids)
    with transaction.atomic():
        changed = list(Job.objects.filter(pk__in=ids, status=Status.DLQ).select_for_update()
                       .values_list("id", "task", "queue"))
        Job.objects.filter(pk__in=[c[0] for c in changed], status=Status.DLQ).update(
            status=Status.CANCELLED, updated_at=now)
        tallies.record(Counter(("cancelled", c[2]) for c in changed), now)
    for job_id, task, queue in changed:
        event("cancelled", job_id=str(job_id), task=task, queue=queue, worker=by or None)
    return len(changed)
