"""The queries behind the dashboard, shaped to stay fast with millions of jobs.

- Counts are capped: `SELECT count(*) FROM (SELECT 1 ... LIMIT CAP+1)` reads at most CAP+1 index
  entries, and the page shows "10,000+" beyond that. Nothing runs an unbounded COUNT(*).
- Queue names come from a loose index scan of the claimable partial index (one seek per queue),
  the few RUNNING rows, paused queues and the last hour's tallies, never from a DISTINCT over jobs.
- Throughput comes from the Tally table (per-minute deltas written by the lifecycle).
- Lists page by keyset on (created_at, id), or (finished_at, id) for finished statuses, never OFFSET.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, Min, Q, QuerySet, Value
from django.db.models.expressions import RawSQL

from queue_app import queues as paused_queues
from queue_app import quotas, tallies
from queue_app.dbvalues import as_datetime, table
from queue_app.models import ACTIVE, CLAIMABLE, TERMINAL, Job, Quota, Status, Tally, Worker, WorkerState

COUNT_CAP = 10_000
HOUR = timedelta(hours=1)
RECENTLY_STOPPED = timedelta(hours=24)
STATUS_ORDER = [Status.PENDING, Status.RUNNING, Status.FAILED, Status.DONE, Status.DLQ, Status.CANCELLED]


@dataclass(frozen=True)
class Capped:
    """A count that stopped at COUNT_CAP; `capped` says the true figure is larger."""

    n: int
    capped: bool

    def __str__(self) -> str:
        return f"{COUNT_CAP:,}+" if self.capped else f"{self.n:,}"


def count_limited(queryset: QuerySet, limit: int) -> int:
    """SELECT count(*) FROM (SELECT 1 ... LIMIT n): selecting a constant, not the UUID key, lets
    SQLite answer from the index alone (Django's sliced .count() would select the key)."""
    sql, params = queryset.order_by().annotate(one=Value(1)).values("one")[:limit].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) AS capped", params)
        return cursor.fetchone()[0]


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> Capped:
    """Count at most cap+1 rows of `queryset` (a LIMITed subquery, so the database stops early)."""
    # Selecting a constant (not the UUID key) lets SQLite answer from the index alone.
    n = count_limited(queryset, cap + 1)
    return Capped(min(n, cap), n > cap)


def scoped(user, owner_id: int | None = None) -> QuerySet:
    """The user's jobs (staff: everyone's, optionally one owner's)."""
    jobs = Job.objects.for_user(user)
    if owner_id is not None and user.is_staff:
        jobs = jobs.filter(owner_id=owner_id)
    return jobs


def in_statuses(statuses) -> RawSQL:
    """`status IN ('A', 'B')` with the values written into the SQL. SQLite uses a partial index only
    when the query holds the index's WHERE term with literal values; Django would bind them as
    parameters. The values are Status constants, never user input."""
    if not all(s in Status.values for s in statuses):  # a real check: `assert` vanishes under python -O
        raise ValueError(f"not job statuses: {statuses!r}")
    values = ", ".join(f"'{s}'" for s in statuses)
    return RawSQL(f"{table(Job)}.status IN ({values})", [], output_field=BooleanField())  # noqa: S611  # nosec B611


def claimable() -> QuerySet:
    """PENDING and FAILED jobs, through the claim-order and ready-queue partial indexes."""
    return Job.objects.filter(in_statuses(CLAIMABLE))


def with_status(jobs: QuerySet, status: str) -> QuerySet:
    """Filter on one status, adding the partial index predicate that covers it (see in_statuses)."""
    if status in CLAIMABLE:
        jobs = jobs.filter(in_statuses(CLAIMABLE))
    elif status in ACTIVE:
        jobs = jobs.filter(in_statuses(ACTIVE))
    return jobs.filter(status=status)


def status_counts(jobs: QuerySet) -> list[tuple[str, str, Capped]]:
    """(status, label, capped count) for every status, in lifecycle order."""
    return [(s.value, s.label, capped_count(with_status(jobs, s))) for s in STATUS_ORDER]


def _claimable_queues() -> list[str]:
    """Distinct queues with claimable jobs: a loose index scan of the (queue, run_at) partial index,
    one seek per queue."""
    job = table(Job)
    statuses = ", ".join(f"'{s}'" for s in CLAIMABLE)
    # Without statistics SQLite would pick the (status, finished_at) index and read every claimable row.
    hint = " INDEXED BY job_ready_queue" if connection.vendor == "sqlite" else ""
    sql = (f"WITH RECURSIVE q(name) AS ("
           f" SELECT (SELECT min(queue) FROM {job}{hint} WHERE status IN ({statuses}))"
           f" UNION ALL"
           f" SELECT (SELECT min(queue) FROM {job}{hint} WHERE status IN ({statuses}) AND queue > q.name)"
           f" FROM q WHERE q.name IS NOT NULL)"
           f" SELECT name FROM q WHERE name IS NOT NULL LIMIT 1000")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def queue_names(now: datetime) -> list[str]:
    """Every queue worth showing: with claimable or running jobs, paused, or active in the last hour."""
    names = set(_claimable_queues())
    names.update(Job.objects.running().order_by().values_list("queue", flat=True).distinct())
    names.update(paused_queues.paused())
    names.update(Tally.objects.filter(minute__gte=tallies.minute_of(now - HOUR)).order_by()
                 .values_list("queue", flat=True).distinct())
    names.discard("")
    return sorted(names)


def queue_rows(now: datetime) -> list[dict]:
    """Per queue: ready (due, capped), scheduled (not yet due, capped), running, oldest ready age, paused."""
    paused = {p.name: p for p in paused_queues.PausedQueue.objects.all()}
    running = dict(Job.objects.running().order_by().values_list("queue").annotate(n=Count("id")))
    rows = []
    for name in queue_names(now):
        jobs = claimable().filter(queue=name)
        oldest = jobs.filter(run_at__lte=now).order_by().aggregate(m=Min("run_at"))["m"]
        rows.append({
            "name": name,
            "ready": capped_count(jobs.filter(run_at__lte=now)),
            "scheduled": capped_count(jobs.filter(run_at__gt=now)),
            "running": running.get(name, 0),
            "oldest_age": (now - oldest).total_seconds() if oldest else None,
            "paused": paused.get(name),
        })
    return rows


def oldest_pending_age(jobs: QuerySet, now: datetime) -> float | None:
    """Seconds the oldest due claimable job of a user's jobs has waited (bounded by max_active)."""
    oldest = jobs.filter(in_statuses(ACTIVE), status__in=CLAIMABLE, run_at__lte=now).order_by() \
        .aggregate(m=Min("run_at"))["m"]
    return (now - oldest).total_seconds() if oldest else None


def oldest_of(rows: list[dict]) -> float | None:
    """The oldest ready age across queue_rows() (one index seek per queue, not a scan)."""
    ages = [row["oldest_age"] for row in rows if row["oldest_age"] is not None]
    return max(ages) if ages else None


def throughput(now: datetime, minutes: int = 60) -> list[dict]:
    """Completed and failed attempts per minute over the last `minutes`, oldest first (from tallies)."""
    start = tallies.minute_of(now) - timedelta(minutes=minutes - 1)
    data = tallies.per_minute(start, ["completed", "failed"])
    by_minute = {as_datetime(k).replace(second=0, microsecond=0): v for k, v in data.items()}
    out = []
    for i in range(minutes):
        minute = start + timedelta(minutes=i)
        counts = by_minute.get(minute, {})
        out.append({"minute": minute, "completed": counts.get("completed", 0), "failed": counts.get("failed", 0)})
    return out


def retry_rate(now: datetime) -> float | None:
    """Share of the last hour's finished attempts that were scheduled for a retry."""
    sums = tallies.since(now - HOUR, ["completed", "failed", "retried"])
    attempts = sums.get("completed", 0) + sums.get("failed", 0)
    return sums.get("retried", 0) / attempts if attempts else None


def workers(now: datetime) -> tuple[list[Worker], list[Worker]]:
    """(live workers with their current jobs, workers stopped or gone quiet in the last day)."""
    stale = settings.JOBQUEUE_WORKER_STALE_SECONDS
    live = list(Worker.objects.live(now, stale).order_by("id"))
    current: dict[str, list] = {}
    for job in Job.objects.running().filter(lease_owner__in=[w.id for w in live]).order_by("started_at") \
            .only("id", "task", "queue", "lease_owner", "started_at")[:500]:
        current.setdefault(job.lease_owner, []).append(job)
    for w in live:
        w.current_jobs = current.get(w.id, [])
    live_ids = {w.id for w in live}
    recent = [w for w in Worker.objects.filter(last_heartbeat__gte=now - RECENTLY_STOPPED).order_by("-last_heartbeat")
              [:50] if w.id not in live_ids]
    for w in recent:
        w.gone_quiet = w.state != WorkerState.STOPPED
    return live, recent


def quota_usage(user, now: datetime) -> dict:
    """The user's limits and usage, like quotas.usage() but with capped counts (a staff or service
    account may own millions of jobs)."""
    quota = Quota.objects.filter(user=user).first()
    limits = quotas.limits_for(quota)
    tokens = quotas._refill(quota, limits, now) if quota else float(limits.burst or 0)
    mine = Job.objects.filter(owner=user)
    return {
        "limits": limits.__dict__,
        "usage": {"active": capped_count(mine.filter(in_statuses(ACTIVE))),
                  "running": capped_count(with_status(mine, Status.RUNNING)), "tokens_available": tokens},
    }


def _before(jobs: QuerySet, field: str, at: datetime, job_id) -> QuerySet:
    # `field <= at` first gives the index a range to seek to; the OR breaks ties on id.
    return jobs.filter(**{f"{field}__lte": at}).filter(Q(**{f"{field}__lt": at}) | Q(id__lt=job_id))


def sort_field(status: str, one_owner: bool) -> str:
    """The column a list pages by, chosen so an index serves the order: one owner's jobs by created_at
    (the (owner, created_at) index); everyone's finished jobs of one status by finished_at (the
    (status, finished_at) index); everything else by created_at (the newest-first index, or a sort
    of the active rows found through their partial index)."""
    return "finished_at" if status in TERMINAL and not one_owner else "created_at"


def list_page(jobs: QuerySet, status: str, before: tuple | None, size: int, *,
              one_owner: bool) -> tuple[list[Job], tuple | None]:
    """One page of `jobs` (already filtered except for status), newest first, keyset on (field, id)."""
    field = sort_field(status, one_owner)
    if status:
        jobs = with_status(jobs, status)
    if before:
        jobs = _before(jobs, field, *before)
    rows = list(jobs.order_by(f"-{field}", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, ((getattr(rows[-1], field), rows[-1].id) if more and rows else None)
