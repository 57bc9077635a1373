"""LISTEN/NOTIFY: an idle worker whose poll interval is long starts a new job within milliseconds."""
import statistics

import pytest

from queue_app import lifecycle
from queue_app.models import Job, Status, Worker
from tests import procs


@pytest.mark.django_db(transaction=True)
def test_idle_listening_worker_starts_a_submitted_job_within_100ms(make_user, workers):
    user = make_user()
    worker = workers("--concurrency", "1", "--poll-interval", "10", env=procs.env())
    procs.wait_until(lambda: Worker.objects.filter(state="running").exists(), message="worker registered")
    worker.wait_for_output("worker started")
    pickups = []
    for i in range(5):
        import time

        time.sleep(0.3)  # let the worker go idle in its wait
        job = lifecycle.submit(user, "demo.echo", {"i": i}).job
        procs.wait_until(lambda job=job: Job.objects.get(pk=job.pk).status == Status.DONE, timeout=15,
                         message="job done")
        job.refresh_from_db()
        pickups.append((job.started_at - job.created_at).total_seconds())
    # With a 10 s poll interval only a notification explains a pickup this fast.
    assert statistics.median(pickups) < 0.1, pickups
