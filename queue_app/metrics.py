"""/metrics in Prometheus format, derived from the database at scrape time.

Nothing is counted in process memory, so every gunicorn process answers with the same figures and
a restart loses nothing. Each figure is chosen to stay cheap on a table of millions of jobs:

- counters come from the tallies table (insert-only per-minute deltas written in the transaction of
  the change they count, folded into one row per minute and queue, archived past retention);
- active jobs (PENDING, RUNNING, FAILED) per queue are exact, through the partial indexes on
  active rows (their number is bounded by the users' max_active quotas); DLQ per queue is counted
  over at most COUNT_CAP rows; DONE and CANCELLED are not counted at all (unbounded; use the
  completed and cancelled counters);
- the duration and pickup histograms cover the attempts finished in the last HISTOGRAM_WINDOW,
  at most HISTOGRAM_MAX_ATTEMPTS of them (the attempt_finished index, newest first); they are
  gauge histograms: read them with histogram_quantile() directly, not through rate();
- backlog, waits, utilisation and the suggested worker count come from queue_app.scaling.

Access: JOBQUEUE_METRICS_AUTH = "open" | "token" (Authorization: Bearer JOBQUEUE_METRICS_TOKEN) |
"staff" (a staff session or a staff user's API key).
"""
import hmac
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.http import HttpResponse
from django.urls import path
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from rest_framework import exceptions, permissions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from queue_app import clock, scaling, tallies
from queue_app.dbvalues import adapt, table
from queue_app.models import ACTIVE, Job, JobAttempt, Status

COUNT_CAP = 10_000
HISTOGRAM_WINDOW = timedelta(minutes=5)
HISTOGRAM_MAX_ATTEMPTS = 20_000
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# Tally name -> (metric name without _total, help). Refusals are tallied as "refused:<code>".
COUNTERS = {
    "submitted": ("jobqueue_jobs_submitted", "Jobs submitted."),
    "completed": ("jobqueue_jobs_completed", "Jobs that finished DONE."),
    "failed": ("jobqueue_jobs_failed", "Failed attempts (errors, timeouts, expired leases)."),
    "retried": ("jobqueue_jobs_retried", "Failed attempts that scheduled a retry."),
    "dead_lettered": ("jobqueue_jobs_dead_lettered", "Jobs moved to the DLQ (retries exhausted)."),
    "lease_expired": ("jobqueue_jobs_lease_expired", "Attempts whose lease expired (worker died or stalled)."),
    "timed_out": ("jobqueue_jobs_timed_out", "Attempts killed after timeout_seconds."),
    "released": ("jobqueue_jobs_released", "Attempts given back by a stopping worker."),
    "cancelled": ("jobqueue_jobs_cancelled", "Jobs cancelled."),
    "redriven": ("jobqueue_jobs_redriven", "Jobs redriven from DLQ or CANCELLED."),
}
REFUSED_PREFIX = "refused:"


def _counters() -> list:
    families = {name: CounterMetricFamily(metric, text, labels=["queue"]) for name, (metric, text) in COUNTERS.items()}
    refused = CounterMetricFamily("jobqueue_submissions_refused", "Submissions refused by quota or rate limit.",
                                  labels=["code", "queue"])
    for (name, queue), n in sorted(tallies.totals().items()):
        if name in families:
            families[name].add_metric([queue], n)
        elif name.startswith(REFUSED_PREFIX):
            refused.add_metric([name[len(REFUSED_PREFIX):], queue], n)
    return [*families.values(), refused]


def _jobs() -> GaugeMetricFamily:
    family = GaugeMetricFamily("jobqueue_jobs", "Jobs per queue and status: PENDING, RUNNING and FAILED exact; "
                               f"DLQ counted over at most {COUNT_CAP} rows; DONE and CANCELLED not counted.",
                               labels=["queue", "status"])
    counts = (Job.objects.filter(status__in=ACTIVE).order_by().values_list("queue", "status")
              .annotate(n=Count("id")))
    for queue, status, n in sorted(counts):
        family.add_metric([queue, status], n)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT queue, COUNT(*) FROM (SELECT queue FROM {table(Job)} WHERE status = %s LIMIT %s) d "
                       "GROUP BY queue ORDER BY queue", [Status.DLQ, COUNT_CAP])
        for queue, n in cursor.fetchall():
            family.add_metric([queue, Status.DLQ], n)
    return family


def _histogram_sql() -> str:
    def buckets(column: str) -> str:
        return ", ".join(f"SUM(CASE WHEN a.{column} <= {b * 1000!r} THEN 1 ELSE 0 END)" for b in BUCKETS)

    return (
        "SELECT j.task, j.queue, COUNT(a.duration_ms), SUM(a.duration_ms), " + buckets("duration_ms") + ", "
        "COUNT(a.pickup_ms), SUM(a.pickup_ms), " + buckets("pickup_ms") + " "
        "FROM (SELECT job_id, CASE WHEN outcome IN ('done', 'failed', 'timeout') THEN duration_ms END AS duration_ms, "
        f"pickup_ms FROM {table(JobAttempt)} WHERE finished_at >= %s ORDER BY finished_at DESC LIMIT %s) a "
        f"JOIN {table(Job)} j ON j.id = a.job_id GROUP BY j.task, j.queue ORDER BY j.task, j.queue"
    )


def _histograms(now: datetime) -> list:
    duration = GaugeHistogramMetricFamily(
        "jobqueue_job_duration_seconds", "Run time of attempts finished in the window (done, failed, timeout).",
        labels=["task", "queue"])
    pickup = GaugeHistogramMetricFamily(
        "jobqueue_job_pickup_seconds", "Due (run_at) to claimed, for attempts finished in the window.",
        labels=["task", "queue"])
    n = len(BUCKETS)
    with connection.cursor() as cursor:
        cursor.execute(_histogram_sql(), [adapt(JobAttempt, "finished_at", now - HISTOGRAM_WINDOW),
                                          HISTOGRAM_MAX_ATTEMPTS])
        rows = cursor.fetchall()
    sampled = 0
    for row in rows:
        task, queue = row[0], row[1]
        d_count, d_sum, d_buckets = row[2], row[3], row[4:4 + n]
        p_count, p_sum, p_buckets = row[4 + n], row[5 + n], row[6 + n:6 + 2 * n]
        sampled += max(d_count, p_count)
        for family, count, total, cumulative in ((duration, d_count, d_sum, d_buckets),
                                                 (pickup, p_count, p_sum, p_buckets)):
            if count:
                pairs = [(repr(b), int(c or 0)) for b, c in zip(BUCKETS, cumulative, strict=True)]
                family.add_metric([task, queue], [*pairs, ("+Inf", count)], gsum_value=float(total or 0) / 1000)
    window = GaugeMetricFamily("jobqueue_histogram_window_seconds", "The histograms cover attempts finished "
                               f"this recently (at most {HISTOGRAM_MAX_ATTEMPTS}).",
                               value=HISTOGRAM_WINDOW.total_seconds())
    return [duration, pickup, window]


def _gauge(name: str, text: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=float(value if value is not None else float("nan")))


def _scaling(now: datetime) -> list:
    s = scaling.signals(now)
    per_queue = {
        "paused": GaugeMetricFamily("jobqueue_queue_paused", "1 when the queue is paused.", labels=["queue"]),
        "ready": GaugeMetricFamily("jobqueue_ready_jobs", f"Ready jobs (due), counted up to {scaling.BACKLOG_CAP}.",
                                   labels=["queue"]),
        "eligible": GaugeMetricFamily("jobqueue_eligible_backlog", "Ready jobs a free worker slot could run now "
                                      "(not paused, within the owner's max_running).", labels=["queue"]),
        "held_back": GaugeMetricFamily("jobqueue_held_back_jobs", "Ready jobs held back by a paused queue or "
                                       "their owner's max_running.", labels=["queue"]),
        "oldest_ready_age_seconds": GaugeMetricFamily("jobqueue_oldest_ready_job_age_seconds",
                                                      "Age of the oldest ready job (since run_at).", labels=["queue"]),
        "oldest_eligible_wait_seconds": GaugeMetricFamily("jobqueue_oldest_eligible_wait_seconds",
                                                          "Wait of the oldest eligible job (since run_at).",
                                                          labels=["queue"]),
    }
    for queue, values in s["queues"].items():
        for key, family in per_queue.items():
            value = values[key]
            if value is not None:
                family.add_metric([queue], float(value))
    rp, w = s["retry_pressure"], s["workers"]
    return [
        *per_queue.values(),
        _gauge("jobqueue_eligible_backlog_total", "Eligible ready jobs over all queues.", s["eligible_backlog"]),
        _gauge("jobqueue_failed_attempts_per_minute", f"Failed attempts per minute over {rp['window_seconds']} s.",
               rp["failed_per_minute"]),
        _gauge("jobqueue_failed_attempt_ratio", f"Failed share of finished attempts over {rp['window_seconds']} s.",
               rp["failed_share"]),
        _gauge("jobqueue_workers_online", "Workers with a recent heartbeat.", w["online"]),
        _gauge("jobqueue_worker_slots", "Job slots (concurrency) of the online workers.", w["slots"]),
        _gauge("jobqueue_worker_slots_busy", "Busy job slots of the online workers.", w["busy"]),
        _gauge("jobqueue_worker_utilisation", "Busy slots / slots of the online workers.", w["utilisation"]),
        _gauge("jobqueue_suggested_workers", "Workers suggested by the scaling rule (see /api/stats/).",
               s["suggested_workers"]),
    ]


class DatabaseCollector:
    """A prometheus_client collector that reads everything from the database when scraped."""

    def collect(self):
        started = time.perf_counter()
        now = clock.now()
        yield _jobs()
        yield from _counters()
        yield from _histograms(now)
        yield from _scaling(now)
        yield _gauge("jobqueue_scrape_duration_seconds", "Time spent reading the database for this scrape.",
                     time.perf_counter() - started)


registry = CollectorRegistry(auto_describe=False)
registry.register(DatabaseCollector())


# --- the view --------------------------------------------------------------------------------
class _AnyAccept(BaseContentNegotiation):
    """Scrapers send many Accept headers; the body's format is chosen by prometheus_client."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def mode() -> str:
    return settings.JOBQUEUE_METRICS_AUTH


class MetricsAccess(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if mode() == "open":
            return True
        if mode() == "token":
            expected = settings.JOBQUEUE_METRICS_TOKEN
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), expected):
                raise exceptions.NotAuthenticated("A valid metrics token is required (Authorization: Bearer ...).")
            return True
        user = request.user
        if not (user and user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if not user.is_staff:
            raise exceptions.PermissionDenied("Metrics are for staff.")
        return True


class MetricsView(APIView):
    permission_classes = [MetricsAccess]
    renderer_classes = [JSONRenderer]  # for errors; metrics are an HttpResponse
    content_negotiation_class = _AnyAccept
    schema = None

    def get_authenticators(self):
        return super().get_authenticators() if mode() == "staff" else []

    def get(self, request):
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return HttpResponse(encoder(registry), content_type=content_type)


urlpatterns = [path("", MetricsView.as_view(), name="metrics")]
