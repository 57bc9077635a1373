"""Structured logs: one line per API request with a request id returned in X-Request-ID; a job's lines
share its job_id from the API submission (gunicorn) to its completion (runworker)."""
import json

import pytest
import requests
from django.test import Client

from tests import procs

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_one_grep_follows_a_job_from_the_api_to_the_worker(make_user_with_key, gunicorn_factory, workers,
                                                          tmp_path):
    _, key = make_user_with_key("tracer")
    url = gunicorn_factory(workers=2, env={"JOBQUEUE_LOG_FORMAT": "json"})
    auth = {"Authorization": f"Bearer {key}"}
    submit = requests.post(url + "/api/jobs/", json={"task": "demo.echo", "payload": {"x": 1}, "queue": "traced"},
                           headers={**auth, "X-Request-ID": "trace-abc-123"}, timeout=10)
    assert submit.status_code == 201 and submit.headers["X-Request-ID"] == "trace-abc-123"
    job_id = submit.json()["id"]
    look = requests.get(url + f"/api/jobs/{job_id}/", headers=auth, timeout=10)
    assert look.status_code == 200 and len(look.headers["X-Request-ID"]) == 32  # generated
    worker = workers("--burst", "--queues", "traced", "--worker-id", "trace-w",
                     env=procs.env(JOBQUEUE_LOG_FORMAT="json"))
    assert worker.wait(60) == 0

    port = url.rsplit(":", 1)[1]
    web = (tmp_path / f"gunicorn-{port}.log").read_text()
    lines = [line for line in (web + worker.output()).splitlines() if job_id in line]  # the one grep
    records = [json.loads(line) for line in lines]
    trail = [(r["logger"], r.get("event"), r.get("request_id")) for r in records]
    assert trail == [
        ("jobqueue.events", "submitted", "trace-abc-123"),
        ("jobqueue.requests", "request", "trace-abc-123"),
        ("jobqueue.requests", "request", look.headers["X-Request-ID"]),
        ("jobqueue.events", "started", None),
        ("jobqueue.events", "completed", None),
    ]
    post, get = records[1], records[2]
    assert (post["method"], post["path"], post["status"], post["user"], post["job_id"]) == (
        "POST", "/api/jobs/", 201, "tracer", job_id)
    assert (get["method"], get["status"], get["job_id"]) == ("GET", 200, job_id)
    assert post["duration_ms"] >= 0 and {"ts", "level", "message"} <= post.keys()
    assert records[-1]["worker"] == "trace-w" and records[-1]["outcome"] == "done"


def test_request_ids_are_echoed_when_sane_and_replaced_otherwise(make_user_with_key):
    _, key = make_user_with_key("rid")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/tasks/", HTTP_X_REQUEST_ID="abc-123.def")["X-Request-ID"] == "abc-123.def"
    for bad in ("has space", "x" * 200, "semi;colon", ""):
        rid = client.get("/api/tasks/", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert rid != bad and len(rid) == 32
    assert Client().get("/accounts/login/")["X-Request-ID"]  # every response has one


def test_text_request_line(make_user_with_key, caplog):
    _, key = make_user_with_key("texter")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    with caplog.at_level("INFO", logger="jobqueue"):
        response = client.post("/api/jobs/", {"task": "demo.echo", "payload": {}}, content_type="application/json",
                               HTTP_X_REQUEST_ID="req-1")
    job_id = response.json()["id"]
    request = next(r for r in caplog.records if r.name == "jobqueue.requests")
    submitted = next(r for r in caplog.records if r.name == "jobqueue.events")
    assert request.jq["job_id"] == job_id and request.jq["request_id"] == "req-1" and request.jq["status"] == 201
    assert submitted.jq["job_id"] == job_id and submitted.jq["request_id"] == "req-1"
