"""runworker --autoscale MIN,MAX: a flood grows the pool to MAX; once drained it shrinks to MIN, and
no job is interrupted on the way (real runworker subprocess; pool size read from its Worker row)."""
import signal

import pytest

from queue_app import lifecycle
from queue_app.models import Job, JobAttempt, Status, Worker
from queue_app.submission import JobSpec
from tests import procs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
JOBS = 40


def test_flood_grows_to_max_then_drains_to_min_without_interrupting_a_job(make_user, workers):
    user = make_user("flooder")
    lifecycle.submit_many(user, [JobSpec(task="demo.sleep", payload={"seconds": 0.4}, queue="flood")
                                 for _ in range(JOBS - 1)])
    # Claimed last (lowest priority) and still running when the pool shrinks: it must not be touched.
    long_job = lifecycle.submit(user, "demo.sleep", {"seconds": 6}, queue="flood", priority=-10).job
    proc = workers("--queues", "flood", "--autoscale", "1,4", "--lease-seconds", "1.5", "--poll-interval", "0.1",
                   "--worker-id", "auto-w", env=procs.env(JOBQUEUE_AUTOSCALE_WINDOW_SECONDS="2"))
    sizes: list[int] = []

    def size() -> int | None:
        row = Worker.objects.filter(id="auto-w").values_list("concurrency", flat=True).first()
        if row is not None and (not sizes or sizes[-1] != row):
            sizes.append(row)
        return row

    procs.wait_until(lambda: size() == 4, timeout=30, message="the pool to reach MAX (4)")
    procs.wait_until(lambda: (size(), Job.objects.filter(queue="flood", status=Status.DONE).count())[1] == JOBS - 1,
                     timeout=60, message="the flood of short jobs to drain")
    procs.wait_until(lambda: size() == 1, timeout=30, message="the pool to shrink to MIN (1)")
    assert Job.objects.get(pk=long_job.pk).status == Status.RUNNING  # shrunk around a running job
    procs.wait_until(lambda: Job.objects.get(pk=long_job.pk).status == Status.DONE, timeout=30,
                     message="the long job to finish")

    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.output()[-3000:]
    assert max(sizes) == 4 and sizes[-1] == 1 and all(1 <= s <= 4 for s in sizes)
    # No job was interrupted: each ran exactly once and finished done.
    assert set(Job.objects.filter(queue="flood").values_list("status", "attempts")) == {(Status.DONE, 1)}
    outcomes = list(JobAttempt.objects.filter(job__queue="flood").values_list("outcome", flat=True))
    assert len(outcomes) == JOBS and set(outcomes) == {"done"}
    out = proc.output()
    assert "autoscale: 1 -> 4 slots" in out and "-> 1 slots" in out
