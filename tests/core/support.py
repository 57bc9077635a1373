"""Small helpers shared by the core tests (no fixtures here; those live in tests/conftest.py)."""
from datetime import datetime, timedelta

from queue_app import clock, lifecycle
from queue_app.lifecycle import Claimed
from queue_app.models import Job

WORKER = "test-worker"
LEASE = 30.0


def later(seconds: float, base: datetime | None = None) -> datetime:
    """A moment `seconds` after `base` (default: now), for explicit-`now` lifecycle calls."""
    return (base or clock.now()) + timedelta(seconds=seconds)


def claim_one(now: datetime | None = None, worker: str = WORKER, queues: list[str] | None = None,
              lease: float = LEASE) -> Claimed:
    """Claim exactly one job, failing the test when nothing (or more than one) comes back."""
    claimed = lifecycle.claim(worker, queues, 1, lease, now=now)
    assert len(claimed) == 1, f"expected one claimed job, got {claimed!r}"
    return claimed[0]


def outcomes(job: Job | Claimed) -> list[str]:
    """The job's attempt history, oldest first, as outcome names."""
    job_id = job.id
    return list(Job.objects.get(pk=job_id).attempt_history.order_by("id").values_list("outcome", flat=True))


def fresh(job: Job | Claimed) -> Job:
    return Job.objects.get(pk=job.id)


def text_events(output: str, job_id) -> list[dict]:
    """Parse `... INFO jobqueue.events NAME key=value ...` lines about one job."""
    found = []
    for line in output.splitlines():
        if " jobqueue.events " in line and f"job_id={job_id}" in line:
            _, _, tail = line.partition(" jobqueue.events ")
            name, *pairs = tail.split(" ")
            fields = dict(p.split("=", 1) for p in pairs if "=" in p)
            found.append({"event": name, **fields})
    return found
