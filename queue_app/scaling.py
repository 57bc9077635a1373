"""Autoscaling signals: the ready work more workers could run now, how long it has waited, retry
pressure, worker utilisation, and a suggested worker count with the rule that produced it.

"Eligible" means what a worker with a free slot would actually claim: ready (PENDING or FAILED and
due), in a queue that is not paused, and within its owner's `max_running` room (an owner at the cap
is held back entirely; an owner with room r counts at most r). Every count walks the ready index
(`job_ready_queue`: queue, run_at, partial on claimable rows) in run_at order and stops after
BACKLOG_CAP rows per queue, so a scrape costs the same on a million-row table as on an empty one.
"""
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum

from queue_app import tallies
from queue_app.dbvalues import adapt, as_datetime, is_postgres, placeholders, table
from queue_app.models import CLAIMABLE, Job, PausedQueue, Quota, Worker
from queue_app.submission import QUEUE_NAME

BACKLOG_CAP = 10_000  # ready rows examined per queue
MAX_QUEUES = 200  # queues listed per scrape (a loose index scan, one probe per queue)
RETRY_WINDOW = timedelta(minutes=5)
LONG_WAIT_SECONDS = 60.0  # an eligible job older than this asks for one more worker
DEFAULT_SLOTS_PER_WORKER = 2  # runworker's default --concurrency, used when no worker is online

_CLAIMABLE_SQL = "status IN ('PENDING', 'FAILED')"
assert set(CLAIMABLE) == {"PENDING", "FAILED"}


def _caps_sql() -> tuple[str, list]:
    """Room per capped owner: max_running minus their RUNNING jobs (the claim's own rule)."""
    default = settings.JOBQUEUE_MAX_RUNNING
    cap = "q.max_running" if default is None else "COALESCE(q.max_running, %s)"
    where = "WHERE q.max_running IS NOT NULL" if default is None else ""
    sql = (f"SELECT q.user_id, {cap} - COUNT(j.id) AS room FROM {table(Quota)} q "
           f"LEFT JOIN {table(Job)} j ON j.owner_id = q.user_id AND j.status = 'RUNNING' "
           f"{where} GROUP BY q.user_id, q.max_running")
    return sql, ([] if default is None else [default])


_NOW, _LIMIT = object(), object()  # placeholders filled in by _run


def eligible_sql(queues: list[str] | None, *, with_ready: bool = False, postgres: bool | None = None,
                 now_sql: str = "%s", limit_sql: str = "%s") -> tuple[str, list]:
    """The eligible-backlog query (with_ready: the ready count first) and its parameters.

    Ready rows are counted from the ready index alone (LIMITed); then the ready rows of owners at or
    near their max_running cap are subtracted, so only capped owners' rows are read from the table.
    Paused queues are left out row by row. docs/operations.md shows it rendered for PostgreSQL.
    """
    caps, caps_params = _caps_sql()
    postgres = is_postgres() if postgres is None else postgres
    least, greatest = ("LEAST", "GREATEST") if postgres else ("MIN", "MAX")
    now_params = [_NOW] if now_sql == "%s" else []
    paused = f"SELECT name FROM {table(PausedQueue)}"

    def scope(prefix: str) -> str:
        in_queues = f" AND {prefix}queue IN ({placeholders(len(queues))})" if queues else ""
        return (f"{prefix}status IN ('PENDING', 'FAILED') AND {prefix}run_at <= {now_sql}{in_queues} "
                f"AND {prefix}queue NOT IN ({paused})")

    held_back = f"COALESCE((SELECT SUM(n - {least}(n, {greatest}(room, 0))) FROM held), 0)"
    sql = (
        f"WITH capped AS ({caps}), "
        f"ready AS (SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table(Job)} WHERE {scope('')} "
        f"LIMIT {limit_sql}) r), "
        # One index probe per capped owner (job_active_owner), never a scan of every ready row.
        f"held AS (SELECT c.room, (SELECT COUNT(*) FROM {table(Job)} j WHERE j.owner_id = c.user_id "
        f"AND {scope('j.')}) AS n FROM capped c) "
        f"SELECT {'(SELECT n FROM ready), ' if with_ready else ''}{greatest}(0, (SELECT n FROM ready) - {held_back})"
    )
    limit_params = [_LIMIT] if limit_sql == "%s" else []
    scan = [*now_params, *(queues or [])]
    return sql, [*caps_params, *scan, *limit_params, *scan]


def _run(sql: str, params: list, now: datetime, limit: int) -> tuple:
    values = [adapt(Job, "run_at", now) if p is _NOW else limit if p is _LIMIT else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchone()


def keda_query(queue: str, limit: int = BACKLOG_CAP) -> str:
    """The eligible-backlog query for one queue as literal PostgreSQL text (KEDA's postgresql trigger)."""
    assert QUEUE_NAME.match(queue)
    sql, params = eligible_sql([queue], postgres=True, now_sql="now()", limit_sql=str(limit))
    return sql % tuple(f"'{p}'" if isinstance(p, str) else p for p in params)


def eligible_backlog(queues: list[str] | None, now: datetime, limit: int = BACKLOG_CAP) -> int:
    """Eligible ready jobs in `queues` (all when None), counting at most `limit` ready rows."""
    sql, params = eligible_sql(queues)
    return int(_run(sql, params, now, limit)[0] or 0)


def ready_and_eligible(queue: str, now: datetime, limit: int = BACKLOG_CAP) -> tuple[int, int]:
    """(ready jobs counted up to `limit`, eligible ones) in one queue; a paused queue has none eligible."""
    sql, params = eligible_sql([queue], with_ready=True)
    ready, eligible = _run(sql, params, now, limit)
    return int(ready or 0), int(eligible or 0)


def ready_queues(limit: int = MAX_QUEUES) -> list[str]:
    """Queues with claimable jobs: a loose index scan (one index probe per distinct queue)."""
    tbl = table(Job)
    sql = (f"WITH RECURSIVE q(name, k) AS ("
           f"SELECT MIN(queue), 1 FROM {tbl} WHERE {_CLAIMABLE_SQL} "
           f"UNION ALL SELECT (SELECT MIN(queue) FROM {tbl} WHERE {_CLAIMABLE_SQL} AND queue > q.name), k + 1 "
           f"FROM q WHERE q.name IS NOT NULL AND k < %s) SELECT name FROM q WHERE name IS NOT NULL")
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


def _scalar(sql: str, params: list):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return row[0] if row else None


def _ready_count(queue: str, now: datetime) -> int:
    return int(_scalar(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table(Job)} WHERE {_CLAIMABLE_SQL} AND queue = %s "
                       f"AND run_at <= %s LIMIT %s) r", [queue, adapt(Job, "run_at", now), BACKLOG_CAP]))


def oldest_ready(queue: str, *, eligible: bool = False) -> datetime | None:
    """run_at of the oldest claimable job in `queue` (first entry of the ready index); `eligible`
    skips owners at their max_running cap."""
    extra, params = "", [queue]
    if eligible:
        caps, caps_params = _caps_sql()
        extra = f" AND owner_id NOT IN (SELECT user_id FROM ({caps}) c WHERE room <= 0)"
        params = [queue, *caps_params]
    return as_datetime(_scalar(f"SELECT run_at FROM {table(Job)} WHERE {_CLAIMABLE_SQL} AND queue = %s{extra} "
                               f"ORDER BY run_at LIMIT 1", params))


def _age(now: datetime, at: datetime | None) -> float | None:
    if at is None or at > now:
        return None
    return round((now - at).total_seconds(), 3)


def queue_signals(now: datetime) -> dict[str, dict]:
    """Per queue: ready (capped), eligible, held back, paused, oldest ready and oldest eligible wait."""
    paused = set(PausedQueue.objects.values_list("name", flat=True))
    out: dict[str, dict] = {}
    for name in sorted(set(ready_queues()) | paused):
        if name in paused:
            ready, eligible = _ready_count(name, now), 0
        else:
            ready, eligible = ready_and_eligible(name, now)
        oldest = oldest_ready(name) if ready else None
        oldest_eligible = oldest_ready(name, eligible=True) if eligible else None
        out[name] = {
            "paused": name in paused,
            "ready": ready,
            "eligible": eligible,
            "held_back": max(0, ready - eligible),
            "capped": ready >= BACKLOG_CAP,
            "oldest_ready_age_seconds": _age(now, oldest),
            "oldest_eligible_wait_seconds": _age(now, oldest_eligible),
        }
    return out


def retry_pressure(now: datetime) -> dict:
    """Failed attempts per minute and as a share of finished attempts, over RETRY_WINDOW (from tallies)."""
    counts = tallies.since(now - RETRY_WINDOW, ["failed", "completed"])
    failed, completed = counts.get("failed", 0), counts.get("completed", 0)
    attempts = failed + completed
    minutes = RETRY_WINDOW.total_seconds() / 60
    return {"window_seconds": int(RETRY_WINDOW.total_seconds()), "failed_attempts": failed, "attempts": attempts,
            "failed_per_minute": round(failed / minutes, 3),
            "failed_share": round(failed / attempts, 4) if attempts else 0.0}


def utilisation(now: datetime) -> dict:
    """Live workers (heartbeat within JOBQUEUE_WORKER_STALE_SECONDS), their slots and busy slots."""
    agg = Worker.objects.live(now, settings.JOBQUEUE_WORKER_STALE_SECONDS).aggregate(
        online=Count("id"), slots=Sum("concurrency"), busy=Sum("busy"))
    slots, busy = agg["slots"] or 0, agg["busy"] or 0
    return {"online": agg["online"], "slots": slots, "busy": busy,
            "utilisation": round(busy / slots, 4) if slots else None}


def suggest(eligible: int, oldest_wait: float | None, workers: dict) -> tuple[int, str]:
    """Workers wanted: enough slots for every busy slot plus the eligible backlog, one more when the
    oldest eligible job has waited over LONG_WAIT_SECONDS, none when there is nothing to do."""
    online, busy = workers["online"], workers["busy"]
    per_worker = max(1, round(workers["slots"] / online)) if online else DEFAULT_SLOTS_PER_WORKER
    demand = busy + eligible
    if demand == 0:
        return 0, "no eligible backlog and no busy slots: 0 (scale to zero or to your minimum)"
    n = math.ceil(demand / per_worker)
    rule = f"ceil((busy {busy} + eligible backlog {eligible}) / {per_worker} slots per worker) = {n}"
    if eligible and oldest_wait is not None and oldest_wait > LONG_WAIT_SECONDS and n <= online:
        n = online + 1
        rule += f"; oldest eligible job waited {oldest_wait:.0f} s > {LONG_WAIT_SECONDS:.0f} s: {online} online + 1"
    return n, rule


def signals(now: datetime) -> dict:
    """The autoscaling signals (in /api/stats/ for staff under "autoscaling", and in /metrics)."""
    queues = queue_signals(now)
    eligible = eligible_backlog(None, now)
    waits = [q["oldest_eligible_wait_seconds"] for q in queues.values() if q["oldest_eligible_wait_seconds"]]
    oldest_wait = max(waits) if waits else None
    workers = utilisation(now)
    suggested, rule = suggest(eligible, oldest_wait, workers)
    return {
        "generated_at": now,
        "backlog_cap": BACKLOG_CAP,
        "eligible_backlog": eligible,
        "oldest_eligible_wait_seconds": oldest_wait,
        "queues": queues,
        "retry_pressure": retry_pressure(now),
        "workers": workers,
        "suggested_workers": suggested,
        "rule": rule,
    }
