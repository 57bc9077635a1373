"""Drain: 1, 2 and 4 worker processes finish N pre-enqueued demo.echo jobs (startup reported apart)."""
from bench.common import clear_active, count_status, insert_jobs, metric, repeat, reset_jobs
from bench.workers import timed_drain


def drain_run(ctx, processes: int, jobs: int, name: str = "drain", reset: bool = True, cap: float = 0) -> dict:
    """One timed drain of `jobs` fresh jobs (on an emptied table unless reset=False)."""
    if reset:
        reset_jobs()
    else:
        clear_active()
    before = count_status("DONE")
    insert_jobs(jobs)
    out = timed_drain(ctx, processes, ctx.sizes.concurrency, jobs, name, cap or ctx.sizes.drain_cap)
    done = count_status("DONE") - before
    if not out["capped"] and done != jobs:
        raise RuntimeError(f"expected {jobs} more DONE jobs after the drain, found {done}")
    return out


def cap_note(runs: list[dict], jobs: int, cap: float) -> str:
    """Say when runs hit the time cap, and how far they got."""
    capped = [r for r in runs if r["capped"]]
    if not capped:
        return ""
    return f"{len(capped)}/{len(runs)} runs capped at {cap:.0f} s ({min(r['finished'] for r in capped):,}+ of {jobs:,})"


def run(ctx) -> dict:
    s = ctx.sizes
    metrics, raw = [], {}
    warm = lambda: drain_run(ctx, 1, 1000, cap=2.0)  # noqa: E731
    for i, processes in enumerate(s.drain_processes):
        runs = repeat(lambda p=processes: drain_run(ctx, p, s.drain_jobs), s, warmup=warm if i == 0 else lambda: 0)
        raw[processes] = runs
        metrics.append(metric(f"drain {s.drain_jobs:,} jobs, {processes} proc x {s.concurrency} slots", "jobs/s",
                              [r["rate"] for r in runs], goal=">= 10000",
                              note=cap_note(runs, s.drain_jobs, s.drain_cap)))
        metrics.append(metric(f"  same, excluding startup ({processes} proc)", "jobs/s",
                              [r["rate_after_startup"] for r in runs]))
        metrics.append(metric(f"  worker startup ({processes} proc)", "s", [r["startup_s"] for r in runs],
                              better="lower"))
    best = max(s.drain_processes, key=lambda p: sorted(r["rate"] for r in raw[p])[len(raw[p]) // 2])
    return {"metrics": metrics, "raw": {str(k): v for k, v in raw.items()}, "best_processes": best,
            "concurrency": s.concurrency}
