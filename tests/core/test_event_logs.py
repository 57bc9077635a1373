"""Lifecycle events: one line each with job_id, task, queue, attempt and worker; JSON lines on request."""
import json
import logging

import pytest

from queue_app import lifecycle
from queue_app.models import Job, Status
from tests import procs
from tests.core.support import fresh, text_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BURST = ("--burst", "--poll-interval", "0.05", "--concurrency", "1", "--worker-id", "logger-test")


def test_text_events_carry_the_job_fields(make_job, workers):
    flaky = make_job(task="demo.flaky", payload={"fail_times": 1}, max_retries=1, queue="logs")
    failing = make_job(task="demo.fail", payload={"message": "nope"}, max_retries=0, queue="logs")
    proc = workers(*BURST, env=procs.env(JOBQUEUE_LOG_FORMAT="text"))
    assert proc.wait(60) == 0
    out = proc.output()
    assert fresh(flaky).status == Status.DONE and fresh(failing).status == Status.DLQ

    events = text_events(out, flaky.id)
    assert [e["event"] for e in events] == ["started", "failed", "retry_scheduled", "started", "completed"]
    assert [e["attempt"] for e in events] == ["1", "1", "1", "2", "2"]
    for e in events:
        assert (e["task"], e["queue"], e["worker"]) == ("demo.flaky", "logs", "logger-test")
    assert events[1]["outcome"] == "failed" and events[-1]["outcome"] == "done"

    names = [e["event"] for e in text_events(out, failing.id)]
    assert names == ["started", "failed", "dead_lettered"]


def test_json_lines_from_a_worker_and_from_enqueue(make_user, workers):
    user = make_user()
    environ = procs.env(JOBQUEUE_LOG_FORMAT="json")
    enq = procs.manage("enqueue", "demo.echo", '{"hello": "json"}', "--user", user.username, "--queue", "logs",
                       environ=environ)
    assert enq.returncode == 0, enq.stderr
    job_id = enq.stdout.strip().splitlines()[-1]
    submitted = [json.loads(line) for line in enq.stderr.splitlines() if line.strip()]
    assert [r["message"] for r in submitted] == ["submitted"]
    assert submitted[0]["job_id"] == job_id and submitted[0]["task"] == "demo.echo"
    assert submitted[0]["queue"] == "logs" and submitted[0]["attempt"] == 0

    proc = workers(*BURST, env=environ)
    assert proc.wait(60) == 0
    lines = [line for line in proc.output().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is a JSON object
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    about_job = [r for r in records if r.get("job_id") == job_id]
    assert [r["event"] for r in about_job] == ["started", "completed"]
    for r in about_job:
        assert r["logger"] == "jobqueue.events"
        assert (r["task"], r["queue"], r["attempt"], r["worker"]) == ("demo.echo", "logs", 1, "logger-test")
    assert any(r.get("event") == "worker_started" for r in records)
    assert any(r.get("event") == "worker_stopped" for r in records)
    assert Job.objects.get(pk=job_id).status == Status.DONE


@pytest.fixture
def captured_events():
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("jobqueue.events")
    handler = Keep(level=logging.INFO)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_operator_and_submit_events_carry_the_job_fields(make_user, captured_events):
    user = make_user()
    job = lifecycle.submit(user, "demo.echo", {}, queue="ops").job
    claimed = lifecycle.claim("ops-worker", ["ops"], 1, 30)
    lifecycle.release(claimed)
    lifecycle.cancel(job, by="alice")
    lifecycle.redrive(job, by="alice")
    about = [r.jq for r in captured_events if r.jq.get("job_id") == str(job.id)]
    assert [e["event"] for e in about] == ["submitted", "started", "released", "cancelled", "redriven"]
    for e in about:
        assert (e["task"], e["queue"]) == ("demo.echo", "ops")
    assert about[1]["worker"] == about[2]["worker"] == "ops-worker"
    assert about[1]["attempt"] == about[2]["attempt"] == 1
    assert about[3]["worker"] == about[4]["worker"] == "alice"
