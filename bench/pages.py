"""Pages: server time of the dashboard overview, job list, job detail and admin changelist at 1,000,000 jobs.

Timed in-process with Django's test Client (no network, no browser) as a staff user; the table is
filled by the growth figure (or here, when it did not run). A page that does not exist is reported
as missing rather than failing the run.
"""
import time

from bench.common import bench_user, count_status, metric, repeat


def _target_job():
    """The newest job that has attempt history (a drained one), else the newest job."""
    from queue_app.models import Job, JobAttempt

    attempt = JobAttempt.objects.order_by("-id").values_list("job_id", flat=True).first()
    return attempt or Job.objects.order_by("-created_at").values_list("id", flat=True).first()


def _time(client, url: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    resp = client.get(url)
    return resp.status_code, (time.perf_counter() - t0) * 1000


def run(ctx) -> dict:
    from django.test import Client

    s = ctx.sizes
    rows = sum(count_status(st) for st in ("DONE", "DLQ", "CANCELLED"))
    if rows < s.growth_rows:
        from bench.growth import fill

        fill(s.growth_rows - rows)
    total = sum(count_status(st) for st in ("PENDING", "RUNNING", "FAILED", "DONE", "DLQ", "CANCELLED"))
    admin = bench_user("bench-admin", staff=True)
    client = Client()
    client.force_login(admin)
    pages = {"dashboard overview /": "/", "job list /jobs/": "/jobs/",
             "job detail /jobs/<id>/": f"/jobs/{_target_job()}/",
             "admin changelist /admin/queue_app/job/": "/admin/queue_app/job/"}
    metrics, missing, errors = [], [], {}
    for label, url in pages.items():
        status, _ = _time(client, url)
        if status == 404:
            missing.append(f"page {url}")
            continue
        if status != 200:
            errors[url] = status
            continue
        runs = repeat(lambda u=url: _time(client, u)[1], s, warmup=lambda: None)
        metrics.append(metric(f"{label} at {s.growth_rows:,}+ jobs", "ms", runs, goal="<= 300", better="lower"))
    out = {"metrics": metrics, "missing": missing, "jobs_in_table": total}
    if errors:
        out["error"] = f"pages answered non-200: {errors}"
    return out
