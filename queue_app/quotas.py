"""Admission control: per-user limits checked and consumed inside the submit transaction.

The user's Quota row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transactions already serialize writers), so limits hold exactly across processes and hosts.
"""
import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from queue_app.dbvalues import adapt, as_datetime, is_postgres, table
from queue_app.errors import QuotaExceeded, RateLimited
from queue_app.models import ACTIVE, Job, Quota


@dataclass(frozen=True)
class Limits:
    rate_per_minute: int | None
    burst: int | None
    max_active: int | None
    max_running: int | None
    max_payload_bytes: int | None
    max_retries_cap: int | None
    max_timeout_seconds: int | None


def _pick(value, default):
    return default if value is None else value


def limits_for(quota: Quota | None) -> Limits:
    """A user's effective limits: their Quota row's values, else the JOBQUEUE_* defaults."""
    q = quota or Quota()
    return Limits(
        rate_per_minute=_pick(q.rate_per_minute, settings.JOBQUEUE_RATE_PER_MINUTE),
        burst=_pick(q.burst, settings.JOBQUEUE_BURST),
        max_active=_pick(q.max_active, settings.JOBQUEUE_MAX_ACTIVE),
        max_running=_pick(q.max_running, settings.JOBQUEUE_MAX_RUNNING),
        max_payload_bytes=_pick(q.max_payload_bytes, settings.JOBQUEUE_MAX_PAYLOAD_BYTES),
        max_retries_cap=_pick(q.max_retries_cap, settings.JOBQUEUE_MAX_RETRIES_CAP),
        max_timeout_seconds=_pick(q.max_timeout_seconds, settings.JOBQUEUE_MAX_TIMEOUT_SECONDS),
    )


QUOTA_COLUMNS = ["user_id", "rate_per_minute", "burst", "max_active", "max_running", "max_payload_bytes",
                 "max_retries_cap", "max_timeout_seconds", "tokens", "tokens_at"]


def quota_row(user, *, lock: bool) -> Quota:
    """The user's Quota row, created on first use; locked for the transaction when asked.

    Raw SQL: this runs on every submission, where the ORM's query building costs more than the query.
    """
    sql = (f"SELECT {', '.join(QUOTA_COLUMNS)} FROM {table(Quota)} WHERE user_id = %s"
           + (" FOR UPDATE" if lock and is_postgres() else ""))
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk])
        row = cursor.fetchone()
        if row is None:
            Quota.objects.get_or_create(user_id=user.pk)
            cursor.execute(sql, [user.pk])
            row = cursor.fetchone()
    values = dict(zip(QUOTA_COLUMNS, row, strict=True))
    values["tokens_at"] = as_datetime(values["tokens_at"])
    return Quota(**values)


def _refill(quota: Quota, limits: Limits, now: datetime) -> float:
    capacity = float(limits.burst or 0)
    if quota.tokens is None or quota.tokens_at is None:
        return capacity
    per_second = (limits.rate_per_minute or 0) / 60.0
    elapsed = max(0.0, (now - quota.tokens_at).total_seconds())
    return min(capacity, quota.tokens + elapsed * per_second)


def active_count(user) -> int:
    """The user's PENDING + RUNNING + FAILED jobs, counted through the job_active_owner partial index."""
    statuses = ", ".join(f"'{s}'" for s in ACTIVE)  # literals, so SQLite can match the partial index
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table(Job)} WHERE owner_id = %s AND status IN ({statuses})",
                       [user.pk])
        return cursor.fetchone()[0]


def admit(user, n: int, now: datetime, quota: Quota | None = None) -> tuple[Quota, Limits]:
    """Check and consume `n` submissions for `user`, or raise RateLimited / QuotaExceeded.

    Must run inside the transaction that creates the jobs.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("admit() must run inside the submit transaction")
    quota = quota if quota is not None else quota_row(user, lock=True)
    limits = limits_for(quota)
    _check_active(user, limits, n, "At most {cap} active jobs; {active} are active and {n} more were asked for.")
    if limits.rate_per_minute is not None:
        tokens = _refill(quota, limits, now)
        if tokens + 1e-9 < n:
            per_second = limits.rate_per_minute / 60.0
            wait = math.inf if per_second <= 0 or n > (limits.burst or 0) else (n - tokens) / per_second
            raise RateLimited(
                f"Rate limit of {limits.rate_per_minute}/minute (burst {limits.burst}) reached.",
                retry_after=60 if math.isinf(wait) else math.ceil(wait),
                limit="rate_per_minute", limit_value=limits.rate_per_minute, burst=limits.burst,
                usage=round((limits.burst or 0) - tokens, 3), requested=n,
            )
        quota.tokens, quota.tokens_at = tokens - n, now
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table(Quota)} SET tokens = %s, tokens_at = %s WHERE user_id = %s",
                           [quota.tokens, adapt(Quota, "tokens_at", now), quota.user_id])
    return quota, limits


def admit_redrive(user, n: int) -> None:
    """Redriven jobs become active again: they must fit under max_active."""
    limits = limits_for(quota_row(user, lock=True))
    _check_active(user, limits, n, "Redriving {n} job(s) would exceed max_active={cap} ({active} active).")


def _check_active(user, limits: Limits, n: int, message: str) -> None:
    """Refuse when `n` more active jobs would pass the user's max_active."""
    if limits.max_active is None:
        return
    active = active_count(user)
    if active + n > limits.max_active:
        raise QuotaExceeded(message.format(cap=limits.max_active, active=active, n=n), retry_after=5,
                            limit="max_active", limit_value=limits.max_active, usage=active, requested=n)


def usage(user, now: datetime) -> dict:
    """The user's limits and current usage, for /api/quota/ and the dashboard."""
    quota = Quota.objects.filter(user=user).first()
    limits = limits_for(quota)
    tokens = _refill(quota, limits, now) if quota else float(limits.burst or 0)
    active = active_count(user)
    running = Job.objects.filter(owner=user).running().count()
    return {
        "limits": limits.__dict__,
        "usage": {"active": active, "running": running, "tokens_available": round(tokens, 3)},
    }
