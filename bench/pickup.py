"""Pickup latency: submission to start at light load (jobs at about 20/s, one idle worker process)."""
import time

from bench.common import bench_user, count_active, metric, percentile, repeat, reset_jobs, wait_until
from bench.workers import registered, start_workers, stop_all


def _submit_paced(n: int, rate: float) -> list:
    from queue_app import lifecycle

    user = bench_user()
    ids = []
    t0 = time.monotonic()
    for i in range(n):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ids.append(lifecycle.submit(user, "demo.echo", {"n": i}).job.pk)
    return ids


def _latencies(ids: list) -> list[float]:
    from queue_app.models import Job

    rows = Job.objects.filter(pk__in=ids).values_list("created_at", "started_at")
    return [(started - created).total_seconds() * 1000 for created, started in rows if started]


def pickup_run(ctx, n: int) -> dict:
    ids = _submit_paced(n, ctx.sizes.pickup_rate)
    wait_until(lambda: count_active() == 0, 30, what="the paced jobs to finish")
    lat = _latencies(ids)
    return {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat), "n": len(lat)}


def run(ctx) -> dict:
    s = ctx.sizes
    reset_jobs()
    workers = start_workers(ctx, 1, s.concurrency, "pickup")
    try:
        wait_until(lambda: registered(workers), 60, what="the worker to register")
        time.sleep(1.0)  # let it go idle, as a worker is between bursts
        runs = repeat(lambda: pickup_run(ctx, s.pickup_jobs), s, warmup=lambda: pickup_run(ctx, 20))
    finally:
        stop_all(workers)
    p50_goal, p99_goal = ("<= 20", "<= 100") if ctx.db == "sqlite" else ("<= 10", "<= 100")
    label = f"{s.pickup_jobs} jobs at {s.pickup_rate:.0f}/s, 1 idle worker"
    return {"metrics": [metric(f"pickup p50, {label}", "ms", [r["p50"] for r in runs], goal=p50_goal,
                               better="lower"),
                        metric("pickup p99", "ms", [r["p99"] for r in runs], goal=p99_goal, better="lower")],
            "raw": runs}
