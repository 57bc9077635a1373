"""Overview: counts per status and queue, throughput, oldest pending age, retry rate, workers, quota."""
from django.contrib.auth.decorators import login_required
from django.db.models import Count

from dashboard import metrics
from dashboard.views.common import live
from queue_app import clock
from queue_app.models import ACTIVE

CHART_W, CHART_H, CHART_TOP = 600, 120, 4


def chart(points: list[dict]) -> dict:
    """Stacked bars (completed under failed) per minute, scaled to the busiest minute."""
    peak = max([p["completed"] + p["failed"] for p in points] + [1])
    step = CHART_W / len(points)
    bars = []
    for i, p in enumerate(points):
        h_ok = (CHART_H - CHART_TOP) * p["completed"] / peak
        h_bad = (CHART_H - CHART_TOP) * p["failed"] / peak
        bars.append({
            "x": round(i * step + 1, 1), "w": round(max(step - 2, 1), 1),
            "ok_y": round(CHART_H - h_ok, 1), "ok_h": round(h_ok, 1),
            "bad_y": round(CHART_H - h_ok - h_bad, 1), "bad_h": round(h_bad, 1),
            "title": f"{p['minute']:%H:%M} UTC: {p['completed']} completed, {p['failed']} failed",
        })
    return {"bars": bars, "peak": peak, "width": CHART_W, "height": CHART_H,
            "completed": sum(p["completed"] for p in points), "failed": sum(p["failed"] for p in points)}


def _own_queues(jobs) -> list[dict]:
    """A user's active jobs per queue and status (bounded by their max_active quota)."""
    rows: dict[str, dict] = {}
    counts = jobs.filter(metrics.in_statuses(ACTIVE)).order_by().values_list("queue", "status").annotate(n=Count("id"))
    for queue, status, n in counts:
        rows.setdefault(queue, {"name": queue, "PENDING": 0, "RUNNING": 0, "FAILED": 0})[status] = n
    return [rows[k] for k in sorted(rows)]


@login_required
def overview(request):
    now = clock.now()
    user = request.user
    jobs = metrics.scoped(user)
    live_workers, _ = metrics.workers(now)
    queues = metrics.queue_rows(now) if user.is_staff else None
    context = {
        "now": now,
        "counts": metrics.status_counts(jobs),
        "queues": queues,
        "own_queues": None if user.is_staff else _own_queues(jobs),
        "chart": chart(metrics.throughput(now)),
        "oldest_pending": metrics.oldest_of(queues) if user.is_staff else metrics.oldest_pending_age(jobs, now),
        "retry_rate": metrics.retry_rate(now),
        "workers": live_workers,
        "quota": metrics.quota_usage(user, now),
        "cap": f"{metrics.COUNT_CAP:,}",
    }
    return live(request, "dashboard/overview.html", "dashboard/partials/overview.html", context)
