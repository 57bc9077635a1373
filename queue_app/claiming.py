"""The claim statement: take up to n ready jobs in claim order, in one short transaction.

SQLite:      UPDATE ... WHERE id IN (SELECT ... ORDER BY claim order LIMIT n) RETURNING ...
             (IMMEDIATE transactions serialize writers, so no two workers claim one row).
PostgreSQL:  WITH c AS (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) UPDATE ... FROM c RETURNING ...

Owners capped by max_running: their running count is checked in the same transaction (on
PostgreSQL with their Quota rows locked, SKIP LOCKED, so two claimers never both fill one cap).
"""
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from queue_app.dbvalues import adapt, is_postgres, placeholders, table
from queue_app.models import CLAIMABLE, Job, PausedQueue, Quota, Status

RETURNING = "id, task, queue, payload, attempts, max_retries, timeout_seconds, lease_token, owner_id, run_at"


def _token_sql() -> str:
    if is_postgres():
        return "replace(gen_random_uuid()::text, '-', '')"
    return "lower(hex(randomblob(16)))"


def _filters(queues: list[str] | None, excluded_owners: list[int], now: datetime):
    # Status values are literals (not parameters) so the planner can match the partial index.
    where = [f"status IN ({', '.join(repr(str(s)) for s in CLAIMABLE)})", "run_at <= %s",
             f"queue NOT IN (SELECT name FROM {table(PausedQueue)})"]
    params: list = [adapt(Job, "run_at", now)]
    if queues:
        where.append(f"queue IN ({placeholders(len(queues))})")
        params += queues
    if excluded_owners:
        where.append(f"owner_id NOT IN ({placeholders(len(excluded_owners))})")
        params += excluded_owners
    return " AND ".join(where), params


def _capped_rooms() -> tuple[dict[int, int], list[int]]:
    """(room per capped owner we may claim for now, capped owners to skip this round)."""
    default = settings.JOBQUEUE_MAX_RUNNING
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT user_id, max_running FROM {table(Quota)}"
                       + ("" if default is not None else " WHERE max_running IS NOT NULL"))
        caps = {uid: (cap if cap is not None else default) for uid, cap in cursor.fetchall()}
    if not caps:
        return {}, []
    lockable = set(caps)
    if is_postgres():
        lockable = set(Quota.objects.filter(user_id__in=list(caps)).select_for_update(skip_locked=True)
                       .values_list("user_id", flat=True))
    running = Counter(dict(
        Job.objects.filter(status=Status.RUNNING, owner_id__in=list(lockable))
        .values_list("owner_id").annotate(n=_count()).values_list("owner_id", "n")))
    rooms = {uid: caps[uid] - running.get(uid, 0) for uid in lockable}
    excluded = [uid for uid in caps if uid not in lockable or rooms[uid] <= 0]
    return {uid: r for uid, r in rooms.items() if r > 0}, excluded


def _count():
    from django.db.models import Count

    return Count("id")


def claim_rows(worker_id: str, queues: list[str] | None, limit: int, lease_seconds: float,
               now: datetime) -> list[tuple]:
    """Claim up to `limit` jobs for `worker_id`; call inside a transaction. Returns raw rows."""
    rooms, excluded = _capped_rooms()
    where, params = _filters(queues, excluded, now)
    tbl = table(Job)
    order = "ORDER BY priority DESC, run_at, id"
    lock = " FOR UPDATE SKIP LOCKED" if is_postgres() else ""
    # SQLite's planner may prefer a status index and sort every ready row; pin the claim index.
    source = tbl if is_postgres() else f"{tbl} INDEXED BY job_claim_order"
    lease = [worker_id, adapt(Job, "lease_expires_at", now + timedelta(seconds=lease_seconds)),
             adapt(Job, "started_at", now), adapt(Job, "updated_at", now)]
    set_sql = (f"status = '{Status.RUNNING}', lease_token = {_token_sql()}, lease_owner = %s, "
               "lease_expires_at = %s, attempts = attempts + 1, started_at = %s, updated_at = %s")
    with connection.cursor() as cursor:
        if is_postgres():
            # Walk the claim index in order whatever the statistics say: a sudden backlog with
            # stale statistics would otherwise get a plan that sorts every ready row per claim.
            cursor.execute("SET LOCAL enable_sort = off")
        if rooms:
            # Some candidates belong to capped owners with room left: pick in Python within room.
            cursor.execute(f"SELECT id, owner_id FROM {source} WHERE {where} {order} LIMIT %s{lock}",
                           [*params, limit + sum(rooms.values())])
            taken: Counter = Counter()
            chosen = []
            for job_id, owner_id in cursor.fetchall():
                if owner_id in rooms:
                    if taken[owner_id] >= rooms[owner_id]:
                        continue
                    taken[owner_id] += 1
                chosen.append(job_id)
                if len(chosen) >= limit:
                    break
            if not chosen:
                return []
            cursor.execute(
                f"UPDATE {tbl} SET {set_sql} WHERE id IN ({placeholders(len(chosen))}) "
                f"AND status IN ('PENDING', 'FAILED') RETURNING {RETURNING}", [*lease, *chosen])
        elif is_postgres():
            cursor.execute(
                f"WITH c AS (SELECT id FROM {tbl} WHERE {where} {order} LIMIT %s{lock}) "
                f"UPDATE {tbl} AS j SET {set_sql} FROM c WHERE j.id = c.id "
                f"RETURNING {', '.join('j.' + c.strip() for c in RETURNING.split(','))}",
                [*params, limit, *lease])
        else:
            cursor.execute(
                f"UPDATE {tbl} SET {set_sql} WHERE id IN (SELECT id FROM {source} WHERE {where} {order} LIMIT %s) "
                f"RETURNING {RETURNING}", [*lease, *params, limit])
        return cursor.fetchall()
