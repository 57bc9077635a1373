"""Memory: worker RSS (parent and its job children, from /proc) at start and after N jobs."""
import time
from pathlib import Path

from bench.common import count_active, insert_jobs, metric, reset_jobs, wait_until
from bench.workers import registered, start_workers, stop_all


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _kib(pid: int, field: str, name: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample(pid: int) -> dict:
    """RSS and PSS (shared pages split between the forked processes) of a worker and its children, in MiB."""
    pids = [pid, *_children(pid)]
    return {"processes": len(pids),
            "rss_mib": sum(_kib(p, "VmRSS") for p in pids) / 1024,
            "parent_rss_mib": _kib(pid, "VmRSS") / 1024,
            "pss_mib": sum(_kib(p, "Pss", "smaps_rollup") for p in pids) / 1024}


def run(ctx) -> dict:
    s = ctx.sizes
    reset_jobs()
    insert_jobs(s.memory_jobs)
    workers = start_workers(ctx, 1, s.concurrency, "memory")
    samples = []
    try:
        wait_until(lambda: registered(workers), 60, what="the worker to register")
        t0 = time.monotonic()
        samples.append({"jobs": s.memory_jobs - count_active(), **sample(workers[0].pid)})
        next_at = s.memory_jobs // 4
        left = count_active()
        while left and time.monotonic() - t0 < s.memory_cap:
            time.sleep(0.25)
            left = count_active()
            if s.memory_jobs - left >= next_at or not left:
                samples.append({"jobs": s.memory_jobs - left, **sample(workers[0].pid)})
                next_at += s.memory_jobs // 4
        if samples[-1]["jobs"] != s.memory_jobs - left:
            samples.append({"jobs": s.memory_jobs - left, **sample(workers[0].pid)})
    finally:
        stop_all(workers)
    reset_jobs()
    first, last = samples[0], samples[-1]
    note = "" if not left else f"capped at {s.memory_cap:.0f} s: {last['jobs']:,} of {s.memory_jobs:,} jobs"
    label = f"worker RSS (parent + {first['processes'] - 1} children)"
    return {"metrics": [
        metric(f"{label} at start", "MiB", [first["rss_mib"]], better="lower"),
        metric(f"{label} after the run", "MiB", [last["rss_mib"]], better="lower", note=note),
        metric("  jobs run between the two samples", "jobs", [last["jobs"] - first["jobs"]],
               goal=f">= {s.memory_jobs}"),
        metric("  growth of the parent's RSS", "MiB", [last["parent_rss_mib"] - first["parent_rss_mib"]],
               better="lower", goal="<= 10"),
        metric("  PSS (shared pages split) after", "MiB", [last["pss_mib"]], better="lower"),
    ], "samples": samples, "single_run": True}
