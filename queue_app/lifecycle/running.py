"""Worker-side transitions: claim, settle (ack / fail), heartbeat, release and reap.

Every write here is guarded on (id, status = RUNNING, lease_token): a stale token changes
nothing, so a worker that lost its lease can never overwrite a newer attempt.
"""
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from queue_app import backoff, clock, tallies
from queue_app.claiming import claim_rows
from queue_app.dbvalues import adapt, as_datetime, is_postgres, load_json, table
from queue_app.errors import LeaseLost
from queue_app.logs import event
from queue_app.models import Job, JobAttempt, Outcome, Status

ACK_CHUNK = 200  # jobs per bulk-ack statement (keeps the parameter count well under SQLite's limit)
CLEAR_LEASE = "lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL"
GUARD = "WHERE id = %s AND status = 'RUNNING' AND lease_token = %s"


@dataclass
class Claimed:
    """A job as its worker holds it: enough to run it and to settle it under its lease."""

    id: Any
    task: str
    queue: str
    payload: dict
    attempt: int
    max_retries: int
    timeout_seconds: int
    lease_token: str
    owner_id: int
    worker: str
    started_at: datetime
    run_at: datetime | None = None

    @property
    def job_id(self) -> str:
        return str(self.id)


@dataclass
class Settlement:
    """How an attempt ended. outcome is an Outcome value: done, failed, timeout, lease_expired."""

    job_id: Any
    lease_token: str
    outcome: str
    attempt: int
    worker: str
    started_at: datetime | None
    result: Any = None
    error: str = ""
    traceback: str = ""
    task: str = ""
    queue: str = ""
    due_at: datetime | None = None
    applied: bool = field(default=False)
    new_status: str = ""


def claim(worker_id: str, queues: list[str] | None, limit: int, lease_seconds: float,
          now: datetime | None = None) -> list[Claimed]:
    """Claim up to `limit` ready jobs (PENDING, or FAILED and due) in claim order."""
    if limit <= 0:
        return []
    now = now or clock.now()
    with transaction.atomic(savepoint=False):  # may join the caller's transaction (settle + claim)
        rows = claim_rows(worker_id, queues, limit, lease_seconds, now)
    claimed = [
        Claimed(id=r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(r[0]), task=r[1], queue=r[2],
                payload=load_json(r[3]), attempt=r[4], max_retries=r[5],
                timeout_seconds=r[6], lease_token=r[7], owner_id=r[8], worker=worker_id, started_at=now,
                run_at=as_datetime(r[9]))
        for r in rows
    ]
    for c in claimed:
        event("started", job_id=c.job_id, task=c.task, queue=c.queue, attempt=c.attempt, worker=worker_id)
    return claimed


def _pk(job_id):
    return adapt(Job, "id", job_id)


def _apply(cursor, s: Settlement, now: datetime) -> None:
    tbl = table(Job)
    ts = adapt(Job, "updated_at", now)
    if s.outcome == Outcome.DONE:
        cursor.execute(
            f"UPDATE {tbl} SET status = 'DONE', result = %s, finished_at = %s, updated_at = %s, "
            f"{CLEAR_LEASE} {GUARD} RETURNING status, task, queue",
            [adapt(Job, "result", s.result), ts, ts, _pk(s.job_id), s.lease_token])
    else:
        retry_at = adapt(Job, "run_at", now + timedelta(seconds=backoff.retry_delay(s.attempt)))
        cursor.execute(
            f"UPDATE {tbl} SET "
            "status = CASE WHEN attempts < max_retries + 1 THEN 'FAILED' ELSE 'DLQ' END, "
            "run_at = CASE WHEN attempts < max_retries + 1 THEN %s ELSE run_at END, "
            "finished_at = CASE WHEN attempts < max_retries + 1 THEN NULL ELSE %s END, "
            f"last_error = %s, updated_at = %s, {CLEAR_LEASE} {GUARD} RETURNING status, task, queue",
            [retry_at, ts, s.error[:10000], ts, _pk(s.job_id), s.lease_token])
    row = cursor.fetchone()
    if row:
        s.applied, s.new_status, s.task, s.queue = True, row[0], row[1], row[2]


def _ack_many(cursor, batch: list[Settlement], now: datetime) -> None:
    """RUNNING -> DONE for a batch in one guarded UPDATE ... FROM (VALUES ...) statement."""
    tbl = table(Job)
    ts = adapt(Job, "updated_at", now)
    params: list = []
    for s in batch:
        params += [_pk(s.job_id), s.lease_token, adapt(Job, "result", s.result)]
    if is_postgres():
        rows = ", ".join(["(%s::uuid, %s, %s::jsonb)"] * len(batch))
        sql = (f"UPDATE {tbl} AS j SET status = 'DONE', result = v.vresult, finished_at = %s, updated_at = %s, "
               f"{CLEAR_LEASE} FROM (VALUES {rows}) AS v(vid, vtoken, vresult) "
               "WHERE j.id = v.vid AND j.status = 'RUNNING' AND j.lease_token = v.vtoken "
               "RETURNING j.id, j.task, j.queue")
        cursor.execute(sql, [ts, ts, *params])
    else:
        rows = ", ".join(["(%s, %s, %s)"] * len(batch))
        sql = (f"WITH v(vid, vtoken, vresult) AS (VALUES {rows}) "
               f"UPDATE {tbl} SET status = 'DONE', result = v.vresult, finished_at = %s, updated_at = %s, "
               f"{CLEAR_LEASE} FROM v WHERE {tbl}.id = v.vid AND {tbl}.status = 'RUNNING' "
               f"AND {tbl}.lease_token = v.vtoken RETURNING id, task, queue")
        cursor.execute(sql, [*params, ts, ts])
    by_id = {str(s.job_id): s for s in batch}
    for job_id, task, queue in cursor.fetchall():
        s = by_id[str(job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(job_id))]
        s.applied, s.new_status, s.task, s.queue = True, Status.DONE, task, queue


def settle(settlements: list[Settlement], now: datetime | None = None) -> list[Settlement]:
    """Record outcomes in one transaction (guarded per job) and write their attempt rows.

    A settlement whose lease is stale is left `applied = False` and writes nothing.
    """
    if not settlements:
        return settlements
    now = now or clock.now()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        done = [s for s in settlements if s.outcome == Outcome.DONE]
        for start in range(0, len(done), ACK_CHUNK):
            _ack_many(cursor, done[start:start + ACK_CHUNK], now)
        for s in settlements:
            if s.outcome != Outcome.DONE:
                _apply(cursor, s, now)
        applied = [s for s in settlements if s.applied]
        if applied:
            _insert_attempts(cursor, applied, now)
            tallies.record(_tally(applied), now)
        # Reported only once the outcome has committed.
        transaction.on_commit(lambda: [_log_settled(s) for s in settlements])
    return settlements


def _tally(settlements: list[Settlement]) -> Counter:
    counts: Counter = Counter()
    for s in settlements:
        if s.outcome == Outcome.DONE:
            counts["completed", s.queue] += 1
            continue
        counts["failed", s.queue] += 1
        counts["retried" if s.new_status == Status.FAILED else "dead_lettered", s.queue] += 1
        if s.outcome == Outcome.LEASE_EXPIRED:
            counts["lease_expired", s.queue] += 1
        elif s.outcome == Outcome.TIMEOUT:
            counts["timed_out", s.queue] += 1
    return counts


def _insert_attempts(cursor, settlements: list[Settlement], now: datetime) -> None:
    rows = []
    for s in settlements:
        duration = (now - s.started_at).total_seconds() * 1000 if s.started_at else None
        pickup = (s.started_at - s.due_at).total_seconds() * 1000 if s.started_at and s.due_at else None
        rows.append([_pk(s.job_id), s.attempt, s.worker or "", adapt(JobAttempt, "started_at", s.started_at),
                     adapt(JobAttempt, "finished_at", now), s.outcome, s.error[:10000], s.traceback[:50000],
                     duration, pickup])
    cursor.executemany(
        f"INSERT INTO {table(JobAttempt)} (job_id, number, worker, started_at, finished_at, outcome, error, "
        "traceback, duration_ms, pickup_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)


def _log_settled(s: Settlement) -> None:
    common = dict(job_id=str(s.job_id), task=s.task, queue=s.queue, attempt=s.attempt, worker=s.worker)
    if not s.applied:
        event("stale_lease", outcome=s.outcome, **common)
    elif s.outcome == Outcome.DONE:
        event("completed", outcome="done", **common)
    else:
        event("lease_expired" if s.outcome == Outcome.LEASE_EXPIRED else "failed",
              outcome=s.outcome, error=s.error[:200], **common)
        event("retry_scheduled" if s.new_status == Status.FAILED else "dead_lettered", **common)


def _settle_one(s: Settlement, now: datetime | None) -> Settlement:
    settle([s], now)
    if not s.applied:
        raise LeaseLost("The lease token is stale; the job was reaped or claimed again.", job_id=str(s.job_id))
    return s


def ack(job: Claimed, result: Any, now: datetime | None = None) -> Settlement:
    """RUNNING -> DONE under the job's lease, or LeaseLost."""
    return _settle_one(Settlement(job.id, job.lease_token, Outcome.DONE, job.attempt, job.worker,
                                  job.started_at, result=result, task=job.task, queue=job.queue,
                                  due_at=job.run_at), now)


def fail(job: Claimed, error: str, traceback: str = "", *, outcome: str = Outcome.FAILED,
         now: datetime | None = None) -> Settlement:
    """RUNNING -> FAILED (retry at now + backoff) or DLQ, under the job's lease, or LeaseLost."""
    return _settle_one(Settlement(job.id, job.lease_token, outcome, job.attempt, job.worker, job.started_at,
                                  error=error, traceback=traceback, task=job.task, queue=job.queue,
                                  due_at=job.run_at), now)


def heartbeat(jobs: list[Claimed], lease_seconds: float, now: datetime | None = None) -> list[Claimed]:
    """Extend the leases of `jobs`; returns the ones whose lease was lost (stale token)."""
    now = now or clock.now()
    expires = adapt(Job, "lease_expires_at", now + timedelta(seconds=lease_seconds))
    lost = []
    with transaction.atomic(), connection.cursor() as cursor:
        for job in jobs:
            cursor.execute(f"UPDATE {table(Job)} SET lease_expires_at = %s {GUARD}",
                           [expires, _pk(job.id), job.lease_token])
            if cursor.rowcount != 1:
                lost.append(job)
    return lost


def release(jobs: list[Claimed], reason: str = "released by a stopping worker",
            now: datetime | None = None) -> list[Claimed]:
    """RUNNING -> PENDING without counting a failure (attempts - 1); returns the jobs released."""
    now = now or clock.now()
    ts = adapt(Job, "updated_at", now)
    done = []
    with transaction.atomic(), connection.cursor() as cursor:
        for job in jobs:
            cursor.execute(f"UPDATE {table(Job)} SET status = 'PENDING', attempts = attempts - 1, "
                           f"started_at = NULL, updated_at = %s, {CLEAR_LEASE} {GUARD}",
                           [ts, _pk(job.id), job.lease_token])
            if cursor.rowcount == 1:
                done.append(job)
        if done:
            _insert_attempts(cursor, [
                Settlement(j.id, j.lease_token, Outcome.RELEASED, j.attempt, j.worker, j.started_at, error=reason,
                           due_at=j.run_at)
                for j in done], now)
            tallies.record(Counter(("released", j.queue) for j in done), now)
    for job in done:
        event("released", job_id=job.job_id, task=job.task, queue=job.queue, attempt=job.attempt,
              worker=job.worker)
    return done


def reap(now: datetime | None = None, limit: int = 500) -> int:
    """Fail every job whose lease expired (its worker died or stalled): outcome lease_expired."""
    now = now or clock.now()
    rows = list(Job.objects.expired(now).order_by("lease_expires_at")
                .values_list("id", "lease_token", "attempts", "lease_owner", "started_at", "task", "queue",
                             "run_at")[:limit])
    if not rows:
        return 0
    settlements = [
        Settlement(job_id, token, Outcome.LEASE_EXPIRED, attempts, owner or "", started,
                   error=f"lease expired (worker {owner} stopped heartbeating)", task=task, queue=queue, due_at=due)
        for job_id, token, attempts, owner, started, task, queue, due in rows
    ]
    settle(settlements, now)
    return sum(1 for s in settlements if s.applied)
