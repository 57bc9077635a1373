"""Submission: the one service function every entry point calls to create jobs."""
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from queue_app import clock, tallies, wakeup
from queue_app.dbvalues import placeholders, table
from queue_app.errors import IdempotencyConflict, PayloadTooLarge, RateLimited
from queue_app.logs import event
from queue_app.models import Job, Status
from queue_app.quotas import admit, limits_for, quota_row
from queue_app.submission import JobSpec, validate


@dataclass(frozen=True)
class SubmitResult:
    job: Job
    created: bool  # False when an Idempotency-Key replay returned the original job


def _build(owner, spec: JobSpec, now: datetime, idempotency_key: str | None, fingerprint: str) -> Job:
    return Job(
        owner=owner, queue=spec.queue, task=spec.task, payload=spec.payload, status=Status.PENDING,
        priority=spec.priority, run_at=spec.due(now), max_retries=spec.max_retries,
        timeout_seconds=spec.timeout_seconds, idempotency_key=idempotency_key,
        request_fingerprint=fingerprint, created_at=now, updated_at=now,
    )


def _insert(job: Job) -> None:
    """INSERT one job with raw SQL (the ORM's save() costs more than the statement here)."""
    fields = Job._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(getattr(job, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table(Job)} ({columns}) VALUES ({placeholders(len(fields))})", values)
    job._state.adding = False
    job._state.db = connection.alias


def _replay(owner, key: str, fingerprint: str) -> Job | None:
    existing = Job.objects.filter(owner=owner, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different request.", job_id=str(existing.id))
    return existing


def submit(owner, task: str, payload: dict | None = None, *, queue: str = "default", priority: int = 0,
           max_retries: int | None = None, timeout_seconds: int | None = None, run_at: datetime | None = None,
           delay_seconds: float | None = None, idempotency_key: str | None = None,
           now: datetime | None = None) -> SubmitResult:
    """Validate, admit against the owner's quotas and create one job (or replay an idempotent one)."""
    spec = JobSpec(task=task, payload={} if payload is None else payload, queue=queue, priority=priority,
                   max_retries=max_retries, timeout_seconds=timeout_seconds, run_at=run_at,
                   delay_seconds=delay_seconds)
    now = now or clock.now()
    fingerprint = spec.fingerprint() if idempotency_key else ""
    try:
        with transaction.atomic():
            quota = quota_row(owner, lock=True)
            if idempotency_key:
                original = _replay(owner, idempotency_key, fingerprint)
                if original is not None:
                    return SubmitResult(original, False)
            validate(spec, limits_for(quota))
            admit(owner, 1, now, quota)
            job = _build(owner, spec, now, idempotency_key, fingerprint)
            _insert(job)
            tallies.record(Counter({("submitted", job.queue): 1}), now)
            wakeup.notify([job.queue])
    except (RateLimited, PayloadTooLarge) as exc:
        tallies.record_now(f"refused:{exc.code}", queue if isinstance(queue, str) else "", now)
        raise
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        if idempotency_key:
            original = _replay(owner, idempotency_key, fingerprint)
            if original is not None:
                return SubmitResult(original, False)
        raise
    _log_submitted([job])
    return SubmitResult(job, True)


def submit_many(owner, specs: list[JobSpec], *, now: datetime | None = None) -> list[Job]:
    """Submit several jobs all or nothing; they count against quotas as individual jobs."""
    now = now or clock.now()
    try:
        with transaction.atomic():
            quota = quota_row(owner, lock=True)
            limits = limits_for(quota)
            for spec in specs:
                validate(spec, limits)
            admit(owner, len(specs), now, quota)
            jobs = [_build(owner, spec, now, None, "") for spec in specs]
            Job.objects.bulk_create(jobs)
            tallies.record(Counter(("submitted", job.queue) for job in jobs), now)
            wakeup.notify(sorted({job.queue for job in jobs}))
    except (RateLimited, PayloadTooLarge) as exc:
        tallies.record_now(f"refused:{exc.code}", "", now, len(specs))
        raise
    _log_submitted(jobs)
    return jobs


def _log_submitted(jobs: list[Job]) -> None:
    for job in jobs:
        event("submitted", job_id=str(job.id), task=job.task, queue=job.queue, attempt=0,
              owner=job.owner_id)
