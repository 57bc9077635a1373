"""Pausing a queue: submissions are accepted, nothing is claimed; resume and the jobs run.
Staff API (/api/queues/), `manage.py queue`, and a real worker."""
import io
import time

import pytest
from django.core.management import CommandError, call_command

from queue_app import clock, lifecycle, queues
from queue_app.models import Job, PausedQueue, Status
from tests import procs

pytestmark = pytest.mark.django_db(transaction=True)


def test_paused_queue_is_not_claimed_until_resumed(make_user, workers, staff_api):
    response = staff_api.post("/api/queues/held/pause/")
    assert response.status_code == 200 and response.json() == {"name": "held", "paused": True, "changed": True}
    assert staff_api.post("/api/queues/held/pause/").json()["changed"] is False
    user = make_user("pauser")
    held = [lifecycle.submit(user, "demo.echo", {"i": i}, queue="held").job for i in range(3)]  # accepted
    other = lifecycle.submit(user, "demo.echo", {}, queue="open").job
    workers("--queues", "held,open", "--poll-interval", "0.05", "--worker-id", "pause-w")
    procs.wait_until(lambda: Job.objects.get(pk=other.pk).status == Status.DONE, timeout=30,
                     message="the open queue's job to run")
    time.sleep(1.0)  # a dozen more polls: the paused queue must still be untouched
    assert set(Job.objects.filter(queue="held").values_list("status", "attempts")) == {(Status.PENDING, 0)}

    listing = {q["name"]: q for q in staff_api.get("/api/queues/").json()["queues"]}
    assert listing["held"]["paused"] is True and listing["held"]["counts"] == {"PENDING": 3}
    assert listing["held"]["ready"] == 3 and listing["held"]["eligible"] == 0
    assert listing["held"]["paused_by"] == "ops-admin"

    response = staff_api.post("/api/queues/held/resume/")
    assert response.json() == {"name": "held", "paused": False, "changed": True}
    procs.wait_until(lambda: Job.objects.filter(pk__in=[j.pk for j in held], status=Status.DONE).count() == 3,
                     timeout=30, message="the resumed queue's jobs to run")


def test_queue_api_is_staff_only_and_answers_json(make_user_with_key, api, staff_api):
    _, key = make_user_with_key("nobody")
    for method, path in (("get", "/api/queues/"), ("post", "/api/queues/x/pause/"), ("post", "/api/queues/x/resume/")):
        refused = getattr(api(key), method)(path)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
        anonymous = getattr(api(), method)(path)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    bad = staff_api.post("/api/queues/-nope/pause/")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert staff_api.post("/api/queues/x/resume/").json()["changed"] is False
    body = staff_api.post("/api/queues/x/pause/", {"force": True}, format="json")
    assert body.status_code == 400 and not PausedQueue.objects.exists()


def _queue(*args: str) -> str:
    out = io.StringIO()
    call_command("queue", *args, stdout=out)
    return out.getvalue()


def test_manage_py_queue_pause_list_resume(make_user):
    user = make_user("cmd")
    job = lifecycle.submit(user, "demo.echo", {}, queue="cmdq").job
    assert "cmdq: paused" in _queue("pause", "cmdq")
    assert "cmdq: already paused" in _queue("pause", "cmdq")
    assert lifecycle.claim("w", ["cmdq"], 5, 30, clock.now()) == []
    row = next(line for line in _queue("list").splitlines() if line.startswith("cmdq"))
    assert row.split() == ["cmdq", "paused", "1", "0", "0", "0"]
    assert "cmdq: resumed" in _queue("resume", "cmdq")
    assert [c.job_id for c in lifecycle.claim("w", ["cmdq"], 5, 30, clock.now())] == [str(job.id)]
    with pytest.raises(CommandError, match="Not a queue name"):
        _queue("pause", "bad name")
    assert queues.paused() == []

