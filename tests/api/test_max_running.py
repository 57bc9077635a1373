"""max_running is enforced at claim time by real workers: A's jobs never overlap while B's run side by side."""
import time

import pytest

from queue_app import lifecycle
from queue_app.models import Job, JobAttempt, Status
from queue_app.quotas import quota_row

JOBS_EACH, SLEEP = 4, 0.3
# Attempt times come from each worker loop's clock read before its claim transaction, so a claim that
# waited for another worker's settle can be stamped a few milliseconds early; real overlap would be ~SLEEP.
CLOCK_SLACK = 0.1


def _overlaps(attempts) -> list[tuple]:
    spans = sorted((a.started_at, a.finished_at) for a in attempts)
    return [(x, y) for x, y in zip(spans, spans[1:], strict=False) if (x[1] - y[0]).total_seconds() > CLOCK_SLACK]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_capped_user_runs_one_at_a_time_while_others_proceed(make_user, workers):
    a, b = make_user("capped"), make_user("free")
    quota = quota_row(a, lock=False)
    quota.max_running = 1
    quota.save()
    for _ in range(JOBS_EACH):
        for owner in (a, b):
            lifecycle.submit(owner, "demo.sleep", {"seconds": SLEEP})
    for n in range(2):
        workers("--concurrency", "2", "--poll-interval", "0.05", name=f"w{n}")

    most = {a.pk: 0, b.pk: 0}
    deadline = time.monotonic() + 60
    while Job.objects.exclude(status=Status.DONE).exists():
        assert time.monotonic() < deadline, list(Job.objects.values_list("owner__username", "status"))
        for owner_id in most:
            most[owner_id] = max(most[owner_id], Job.objects.filter(owner_id=owner_id, status=Status.RUNNING).count())
        time.sleep(0.01)

    assert most[a.pk] == 1, most
    assert most[b.pk] >= 2, most
    a_attempts = list(JobAttempt.objects.filter(job__owner=a))
    b_attempts = list(JobAttempt.objects.filter(job__owner=b))
    assert len(a_attempts) == len(b_attempts) == JOBS_EACH
    assert _overlaps(a_attempts) == []
    assert _overlaps(b_attempts), "B's jobs should have run concurrently"
