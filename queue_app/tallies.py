"""Event tallies: insert-only per-minute deltas, written inside the transaction they count.

Names: submitted, completed, failed, retried, dead_lettered, lease_expired, timed_out, released,
cancelled, redriven, refused:<code>. Readers sum rows; `fold()` compacts finished minutes.
"""
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum

from queue_app.dbvalues import adapt, table
from queue_app.models import Tally

ARCHIVE_MINUTE = datetime(1970, 1, 1, tzinfo=UTC)


def minute_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def record(counts: Counter, now: datetime) -> None:
    """Insert one delta row per (name, queue); call inside the transaction being counted."""
    rows = [[name, queue, adapt(Tally, "minute", minute_of(now)), n] for (name, queue), n in counts.items() if n]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table(Tally)} (name, queue, minute, n) VALUES (%s, %s, %s, %s)", rows)


def record_now(name: str, queue: str, now: datetime, n: int = 1) -> None:
    """Record in a transaction of its own (e.g. a refusal whose submit transaction rolled back)."""
    with transaction.atomic():
        record(Counter({(name, queue): n}), now)


def since(start: datetime, names: list[str] | None = None, *, queue: str | None = None) -> dict[str, int]:
    qs = Tally.objects.filter(minute__gte=minute_of(start))
    if names:
        qs = qs.filter(name__in=names)
    if queue is not None:
        qs = qs.filter(queue=queue)
    return {row["name"]: row["total"] for row in qs.values("name").annotate(total=Sum("n"))}


def per_minute(start: datetime, names: list[str]) -> dict[datetime, dict[str, int]]:
    """{minute: {name: n}} from `start`, for charts."""
    out: dict[datetime, dict[str, int]] = {}
    rows = (Tally.objects.filter(minute__gte=minute_of(start), name__in=names)
            .values("minute", "name").annotate(total=Sum("n")))
    for row in rows:
        out.setdefault(row["minute"], {})[row["name"]] = row["total"]
    return out


def totals(by_queue: bool = True) -> dict[tuple[str, str], int]:
    """All-time sums per (name, queue) (for Prometheus counters)."""
    rows = Tally.objects.values("name", "queue").annotate(total=Sum("n"))
    return {(r["name"], r["queue"] if by_queue else ""): r["total"] for r in rows}


def fold(now: datetime, *, settle_seconds: int = 120) -> int:
    """Compact delta rows of finished minutes into one row per key; archive rows past retention."""
    cutoff = minute_of(now - timedelta(seconds=settle_seconds))
    archive_before = minute_of(now - timedelta(days=settings.JOBQUEUE_TALLY_RETENTION_DAYS))
    folded = 0
    with transaction.atomic():
        old = Tally.objects.filter(minute__lt=archive_before, minute__gt=ARCHIVE_MINUTE)
        if old.exists():
            sums = list(old.values("name", "queue").annotate(total=Sum("n")))
            old.delete()
            Tally.objects.bulk_create([Tally(name=r["name"], queue=r["queue"], minute=ARCHIVE_MINUTE, n=r["total"])
                                       for r in sums])
        groups = list(Tally.objects.filter(minute__lt=cutoff).values("name", "queue", "minute")
                      .annotate(rows=Count("id"), total=Sum("n")).filter(rows__gt=1)[:2000])
        for g in groups:
            Tally.objects.filter(name=g["name"], queue=g["queue"], minute=g["minute"]).delete()
            Tally.objects.create(name=g["name"], queue=g["queue"], minute=g["minute"], n=g["total"])
            folded += g["rows"]
    return folded
