"""PostgreSQL claims: SKIP LOCKED between two real connections; exactly-once under 8 workers."""
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from queue_app import lifecycle
from queue_app.claiming import claim_rows
from queue_app.models import Job, JobAttempt, Status
from tests import procs


def _bulk_jobs(owner, n: int, task: str = "demo.echo", payload=None) -> None:
    now = timezone.now()
    Job.objects.bulk_create([Job(owner=owner, task=task, payload=payload or {"i": i}, run_at=now, created_at=now,
                                 updated_at=now) for i in range(n)], batch_size=2000)


@pytest.mark.django_db(transaction=True)
def test_rows_locked_by_one_claim_are_skipped_by_another(make_user):
    _bulk_jobs(make_user(), 10)
    other: dict = {}

    def claim_elsewhere():
        try:
            other["jobs"] = lifecycle.claim("worker-b", None, 10, 30)
        finally:
            connections.close_all()

    with transaction.atomic():
        mine = claim_rows("worker-a", None, 4, 30, timezone.now())  # locks held until this block ends
        thread = threading.Thread(target=claim_elsewhere)
        thread.start()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the second claim blocked on locked rows instead of skipping them"
    mine_ids = {row[0] for row in mine}
    theirs = {job.id for job in other["jobs"]}
    assert len(mine_ids) == 4 and len(theirs) == 6
    assert not mine_ids & theirs
    assert Job.objects.filter(status=Status.RUNNING).count() == 10


@pytest.mark.django_db(transaction=True)
def test_eight_workers_drain_ten_thousand_jobs_exactly_once(make_user, workers):
    assert connection.vendor == "postgresql"
    _bulk_jobs(make_user(), 10_000)
    env = procs.env(JOBQUEUE_LOG_LEVEL="WARNING")
    started = [workers("--burst", "--concurrency", "2", "--poll-interval", "0.05", env=env, name=f"w{i}")
               for i in range(8)]
    for proc in started:
        assert proc.wait(timeout=600) == 0, proc.output()[-2000:]
    assert Job.objects.exclude(status=Status.DONE).count() == 0
    assert Job.objects.filter(attempts=1).count() == 10_000
    assert JobAttempt.objects.count() == 10_000
    assert set(JobAttempt.objects.values_list("outcome", flat=True).distinct()) == {"done"}
    per_worker = JobAttempt.objects.values_list("worker", flat=True).distinct()
    assert len(per_worker) >= 2, "the work was not shared between workers"
