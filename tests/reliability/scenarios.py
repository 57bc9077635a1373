"""Reliability scenarios shared by the tests (short runs) and `make chaos` (full runs).

Each returns a dict of figures; the callers assert on them (tests) or print them (chaos.py).
"""
import random
import time
from pathlib import Path

from django.db import connection

from queue_app.models import Job, Status
from tests import procs
from tests.reliability import ledger
from tests.reliability.fleet import Fleet, chaos_env, submit_sleeps, unfinished, unlimited_user


def sigkill_chaos(work_dir: Path, *, jobs: int = 3000, workers: int = 4, concurrency: int = 2,
                  lease_seconds: float = 2.0, chaos_seconds: float = 30.0, kill_every: float = 2.0,
                  sleep_range: tuple[float, float] = (0.04, 0.12), drain_timeout: float = 120.0,
                  seed: int | None = None) -> dict:
    """Scenario 1: SIGKILL a random worker parent or child every ~kill_every s, then drain and reconcile."""
    seed = random.randrange(2**32) if seed is None else seed
    rng = random.Random(seed)
    ledger_dir, log_dir = work_dir / "ledger", work_dir / "logs"
    ledger_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    user = unlimited_user(f"chaos-{seed}")
    queue = f"chaos-{seed}"
    ids = submit_sleeps(user, jobs, queue=queue, low=sleep_range[0], high=sleep_range[1], max_retries=20, rng=rng)
    args = ["--queues", queue, "--concurrency", str(concurrency), "--lease-seconds", str(lease_seconds),
            "--poll-interval", "0.1", "--grace-seconds", "5"]
    fleet = Fleet(workers, args, chaos_env(ledger_dir), log_dir)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < chaos_seconds:
            time.sleep(rng.uniform(0.5, 1.5) * kill_every)
            fleet.kill_random(rng)
        chaos_done = time.monotonic()
        procs.wait_until(lambda: unfinished(ids) == 0, timeout=drain_timeout, interval=0.25,
                         message="every chaos job to finish")
        drained = time.monotonic()
        fleet.terminate()
    finally:
        fleet.close()
    report = ledger.check(ids, ledger.read(ledger_dir), fleet.kills)
    logs = fleet.logs()
    figures = report.as_dict()
    figures.update(
        database=connection.vendor, seed=seed, workers=workers, concurrency=concurrency, lease_seconds=lease_seconds,
        kills=len(fleet.kills), parent_kills=sum(1 for k in fleet.kills if k.kind == "parent"),
        child_kills=sum(1 for k in fleet.kills if k.kind == "child"),
        chaos_seconds=round(chaos_done - t0, 1), drain_seconds=round(drained - chaos_done, 1),
        total_seconds=round(drained - t0, 1), database_locked_errors=logs.count("database is locked"),
        tracebacks=logs.count("Traceback"),
        first_traceback=_excerpt(logs, "Traceback"),
    )
    return figures


def poison(work_dir: Path, *, others: int = 60, max_retries: int = 2, workers: int = 2) -> dict:
    """Scenario 4: demo.crash kills its worker process every time; it must end in the DLQ while others finish."""
    from queue_app import lifecycle

    rng = random.Random()
    ledger_dir, log_dir = work_dir / "ledger", work_dir / "logs"
    ledger_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    user = unlimited_user(f"poison-{rng.randrange(10**9)}")
    queue = f"poison-{rng.randrange(10**9)}"
    bad = lifecycle.submit(user, "demo.crash", {}, queue=queue, max_retries=max_retries).job
    before = submit_sleeps(user, others // 2, queue=queue, low=0.0, high=0.02, max_retries=0, rng=rng)
    fleet = Fleet(workers, ["--queues", queue, "--concurrency", "2", "--lease-seconds", "5", "--poll-interval",
                            "0.05"], chaos_env(ledger_dir), log_dir)
    try:
        try:
            procs.wait_until(lambda: Job.objects.get(pk=bad.pk).status == Status.DLQ, timeout=60,
                             message="the poison job to reach the DLQ")
        except AssertionError as exc:
            job = Job.objects.get(pk=bad.pk)
            raise AssertionError(f"{exc}: {job.status} attempts={job.attempts} {job.last_error}\n"
                                 f"{fleet.logs()[-4000:]}") from None
        parents = [p.pid for p in fleet.procs]
        after = submit_sleeps(user, others - others // 2, queue=queue, low=0.0, high=0.02, max_retries=0, rng=rng)
        procs.wait_until(lambda: unfinished(before + after) == 0, timeout=60, message="the other jobs to finish")
        alive = all(p.popen.poll() is None for p in fleet.procs)
        fleet.terminate()
    finally:
        fleet.close()
    bad.refresh_from_db()
    others_done = Job.objects.filter(pk__in=before + after, status=Status.DONE).count()
    return dict(database=connection.vendor, poison_status=bad.status, poison_attempts=bad.attempts,
                poison_attempt_rows=bad.attempt_history.count(), max_retries=max_retries,
                others=len(before) + len(after), others_done=others_done, parents_unchanged=parents == [
                    p.pid for p in fleet.procs], parents_alive=alive, last_error=bad.last_error[:120])


def _excerpt(text: str, marker: str, size: int = 600) -> str:
    at = text.find(marker)
    return "" if at < 0 else text[at:at + size]
