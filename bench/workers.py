"""Real `manage.py runworker` processes for the figures, and timing them against the database."""
import time

from bench.common import PY, Spawned, count_active, stop_many, wait_until


def start_workers(ctx, processes: int, concurrency: int, name: str, extra: list[str] | None = None) -> list:
    """Spawn `processes` runworker processes (each with `concurrency` job slots)."""
    return [
        Spawned([PY, "manage.py", "runworker", "--concurrency", str(concurrency),
                 "--worker-id", f"{name}-{i}-{time.monotonic_ns()}", *(extra or [])],
                f"{ctx.db}-{name}-{i}", ctx.env)
        for i in range(processes)
    ]


def registered(workers: list) -> bool:
    """True once every worker process has written its registry row (it is ready to claim)."""
    from queue_app.models import Worker

    for w in workers:
        if not w.alive():
            raise RuntimeError(f"a worker exited early:\n{w.tail()}")
    return Worker.objects.filter(pid__in=[w.pid for w in workers], state="running").count() == len(workers)


def stop_all(workers: list) -> None:
    stop_many(workers)


def timed_drain(ctx, processes: int, concurrency: int, jobs: int, name: str, cap: float) -> dict:
    """Start workers against `jobs` ready jobs; time startup and until the database shows all finished.

    A run is capped at `cap` seconds after the workers are ready, so `make bench` stays bounded whatever
    the speed; a capped run reports the jobs finished by then over the time taken (and says it was capped).
    """
    t0 = time.monotonic()
    workers = start_workers(ctx, processes, concurrency, name)
    try:
        ready = wait_until(lambda: registered(workers), 60, what="workers to register")
        deadline = ready + cap
        left = count_active()
        while left and time.monotonic() < deadline:
            time.sleep(0.025)
            left = count_active()
        done = time.monotonic()
    finally:
        stop_all(workers)
    finished = jobs - left
    total, startup = done - t0, ready - t0
    return {"total_s": total, "startup_s": startup, "finished": finished, "capped": bool(left),
            "rate": finished / total, "rate_after_startup": finished / max(done - ready, 1e-6)}
