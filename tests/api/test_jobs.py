"""Submitting, listing, reading, cancelling and retrying jobs; the job representation; error shapes."""
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from queue_app.models import Job, JobAttempt, Outcome, Status

pytestmark = pytest.mark.django_db

JOB_FIELDS = {"id", "task", "queue", "payload", "status", "priority", "attempts", "max_retries", "timeout_seconds",
              "run_at", "created_at", "started_at", "finished_at", "result", "last_error", "owner"}


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_submit_returns_the_job_with_exactly_the_documented_fields(alice):
    user, client = alice
    response = client.post("/api/jobs/", {"task": "demo.echo", "payload": {"x": 1}, "queue": "emails",
                                          "priority": 5, "max_retries": 2, "timeout_seconds": 30}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == JOB_FIELDS
    assert body["status"] == "PENDING" and body["owner"] == "alice" and body["attempts"] == 0
    assert (body["task"], body["queue"], body["payload"], body["priority"]) == ("demo.echo", "emails", {"x": 1}, 5)
    assert (body["max_retries"], body["timeout_seconds"]) == (2, 30)
    job = Job.objects.get(pk=body["id"])
    assert job.owner == user and job.payload == {"x": 1}


def test_defaults_and_delay(alice):
    _, client = alice
    before = timezone.now()
    body = client.post("/api/jobs/", {"task": "demo.echo", "delay_seconds": 120}, format="json").json()
    assert body["payload"] == {} and body["queue"] == "default" and body["priority"] == 0
    job = Job.objects.get(pk=body["id"])
    assert job.run_at >= before + timedelta(seconds=119)
    at = (timezone.now() + timedelta(hours=1)).isoformat()
    body = client.post("/api/jobs/", {"task": "demo.echo", "run_at": at}, format="json").json()
    assert Job.objects.get(pk=body["id"]).run_at.isoformat() == at


def test_mass_assignment_is_refused_and_never_applied(alice):
    _, client = alice
    for field, value in [("owner", "bob"), ("status", "DONE"), ("attempts", 3), ("lease_token", "x" * 32),
                         ("lease_owner", "w"), ("lease_expires_at", "2030-01-01T00:00:00Z"), ("result", {"a": 1}),
                         ("id", "0193aaaa-0000-7000-8000-000000000000"), ("last_error", "x")]:
        error = _error(client.post("/api/jobs/", {"task": "demo.echo", field: value}, format="json"),
                       400, "validation_error")
        assert field in error["fields"]
    assert Job.objects.count() == 0


def test_lease_token_never_appears(alice, make_job):
    user, client = alice
    job = make_job(Status.RUNNING, owner=user)
    text = client.get(f"/api/jobs/{job.id}/").content.decode() + client.get("/api/jobs/").content.decode()
    assert "t" * 32 not in text and "lease" not in text


@pytest.mark.parametrize("body, field", [
    ({}, "task"),
    ({"task": "no.such.task"}, "task"),
    ({"task": "demo.echo", "payload": [1, 2]}, "payload"),
    ({"task": "demo.echo", "payload": "text"}, "payload"),
    ({"task": "demo.echo", "queue": "bad queue!"}, "queue"),
    ({"task": "demo.echo", "priority": 5000}, "priority"),
    ({"task": "demo.echo", "priority": "high"}, "priority"),
    ({"task": "demo.echo", "max_retries": 1000}, "max_retries"),
    ({"task": "demo.echo", "timeout_seconds": 0}, "timeout_seconds"),
    ({"task": "demo.echo", "timeout_seconds": 99999}, "timeout_seconds"),
    ({"task": "demo.echo", "run_at": "tomorrow"}, "run_at"),
    ({"task": "demo.echo", "run_at": "2026-13-45T99:00:00Z"}, "run_at"),
    ({"task": "demo.echo", "run_at": "2030-01-01T00:00:00Z", "delay_seconds": 5}, "run_at"),
    ({"task": "demo.echo", "delay_seconds": -1}, "delay_seconds"),
    ({"task": "demo.echo", "payload": {"s": "nul\u0000byte"}}, "payload"),
])
def test_validation_errors_name_the_field(alice, body, field):
    _, client = alice
    error = _error(client.post("/api/jobs/", body, format="json"), 400, "validation_error")
    assert isinstance(error["fields"][field], list) and error["fields"][field]
    assert Job.objects.count() == 0


def test_body_must_be_an_object(alice):
    _, client = alice
    error = _error(client.post("/api/jobs/", [1, 2], format="json"), 400, "validation_error")
    assert "non_field_errors" in error["fields"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"task": "demo.echo",}', b'{"task": NaN}', b"\xff\xfe",
                                 b"[" * 100000])
def test_malformed_json(alice, raw):
    _, client = alice
    _error(client.post("/api/jobs/", raw, content_type="application/json"), 400, "malformed_json")


def test_wrong_content_type(alice):
    _, client = alice
    _error(client.post("/api/jobs/", "task=demo.echo", content_type="application/x-www-form-urlencoded"),
           415, "unsupported_media_type")
    _error(client.post("/api/jobs/", b"<job/>", content_type="text/xml"), 415, "unsupported_media_type")


def test_oversized_body_and_payload(alice):
    _, client = alice
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        _error(client.post("/api/jobs/", {"task": "demo.echo", "payload": {"x": "y" * 2000}}, format="json"),
               413, "payload_too_large")
    error = _error(client.post("/api/jobs/", {"task": "demo.echo", "payload": {"x": "y" * 70000}}, format="json"),
                   413, "payload_too_large")
    assert error["limit"] == "max_payload_bytes" and error["usage"] > error["limit_value"]


def test_method_not_allowed_and_unknown_paths(alice, make_job):
    user, client = alice
    _error(client.delete("/api/jobs/"), 405, "method_not_allowed")
    _error(client.put(f"/api/jobs/{make_job(owner=user).id}/", {}, format="json"), 405, "method_not_allowed")
    _error(client.get("/api/nothing-here/"), 404, "not_found")
    _error(client.get("/api/jobs/not-a-uuid/"), 404, "not_found")


def test_list_newest_first_with_cursor_pages(alice, make_job):
    user, client = alice
    now = timezone.now()
    jobs = [make_job(owner=user, created_at=now - timedelta(seconds=i % 4)) for i in range(12)]  # ties in created_at
    expected = [str(j.id) for j in sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=True)]
    seen, url, pages = [], "/api/jobs/?page_size=5", 0
    while url:
        body = client.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url, pages = body["next"], pages + 1
    assert seen == expected and pages == 3
    # Walk back from the last page with `previous`.
    last = client.get("/api/jobs/?page_size=5").json()
    last = client.get(client.get(last["next"]).json()["next"]).json()
    back = client.get(last["previous"]).json()
    assert [r["id"] for r in back["results"]] == expected[5:10]
    assert [r["id"] for r in client.get(back["previous"]).json()["results"]] == expected[:5]


def test_page_size_is_capped_and_cursor_checked(alice):
    _, client = alice
    assert "page_size" in _error(client.get("/api/jobs/?page_size=201"), 400, "validation_error")["fields"]
    assert "page_size" in _error(client.get("/api/jobs/?page_size=0"), 400, "validation_error")["fields"]
    assert client.get("/api/jobs/?page_size=200").status_code == 200
    assert "cursor" in _error(client.get("/api/jobs/?cursor=garbage"), 400, "validation_error")["fields"]


def test_filters(alice, make_job):
    user, client = alice
    now = timezone.now()
    old = make_job(Status.DONE, owner=user, queue="q1", task="demo.sleep", created_at=now - timedelta(days=2))
    mid = make_job(Status.FAILED, owner=user, queue="q2", created_at=now - timedelta(hours=1))
    new = make_job(Status.PENDING, owner=user, queue="q1", created_at=now)

    def ids(query):
        response = client.get("/api/jobs/", query)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids({"status": "DONE"}) == {str(old.id)}
    assert ids({"status": ["DONE", "PENDING"]}) == {str(old.id), str(new.id)}
    assert ids({"status": "DONE,FAILED"}) == {str(old.id), str(mid.id)}
    assert ids({"queue": "q1"}) == {str(old.id), str(new.id)}
    assert ids({"task": "demo.sleep"}) == {str(old.id)}
    assert ids({"created_after": (now - timedelta(hours=2)).isoformat()}) == {str(mid.id), str(new.id)}
    assert ids({"created_before": (now - timedelta(hours=2)).isoformat()}) == {str(old.id)}
    assert ids({"id": str(mid.id)[:13]}) >= {str(mid.id)}
    assert ids({"id": str(mid.id)}) == {str(mid.id)}
    assert ids({"id": str(mid.id).replace("-", "").upper()}) == {str(mid.id)}
    for bad in ({"status": "NOPE"}, {"created_after": "yesterday"}, {"id": "xyz"}):
        _error(client.get("/api/jobs/", bad), 400, "validation_error")


def test_detail_has_attempt_history(alice, make_job):
    user, client = alice
    job = make_job(Status.FAILED, owner=user, attempts=1, last_error="boom")
    JobAttempt.objects.create(job=job, number=1, worker="w1", started_at=timezone.now(), finished_at=timezone.now(),
                              outcome=Outcome.FAILED, error="boom")
    body = client.get(f"/api/jobs/{job.id}/").json()
    assert JOB_FIELDS <= set(body)
    assert [(a["number"], a["worker"], a["outcome"], a["error"]) for a in body["attempt_history"]] == [
        (1, "w1", "failed", "boom")]
    assert {"started", "finished"} <= set(body["attempt_history"][0])
    assert body["links"]["cancel"] == f"/api/jobs/{job.id}/cancel/"


@pytest.mark.parametrize("status", [Status.PENDING, Status.FAILED])
def test_cancel(alice, make_job, status):
    user, client = alice
    job = make_job(status, owner=user)
    response = client.post(f"/api/jobs/{job.id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    _error(client.post(f"/api/jobs/{job.id}/cancel/"), 409, "conflict")


@pytest.mark.parametrize("status", [Status.RUNNING, Status.DONE, Status.DLQ])
def test_cancel_refused(alice, make_job, status):
    user, client = alice
    job = make_job(status, owner=user)
    _error(client.post(f"/api/jobs/{job.id}/cancel/"), 409, "conflict")
    job.refresh_from_db()
    assert job.status == status


@pytest.mark.parametrize("status", [Status.DLQ, Status.CANCELLED])
def test_retry(alice, make_job, status):
    user, client = alice
    job = make_job(status, owner=user, attempts=4, max_retries=3, finished_at=timezone.now())
    body = client.post(f"/api/jobs/{job.id}/retry/").json()
    assert body["status"] == "PENDING" and body["attempts"] == 0 and body["finished_at"] is None


@pytest.mark.parametrize("status", [Status.PENDING, Status.RUNNING, Status.DONE, Status.FAILED])
def test_retry_refused(alice, make_job, status):
    user, client = alice
    job = make_job(status, owner=user)
    _error(client.post(f"/api/jobs/{job.id}/retry/"), 409, "conflict")


def test_actions_refuse_body_fields(alice, make_job):
    user, client = alice
    job = make_job(Status.PENDING, owner=user)
    error = _error(client.post(f"/api/jobs/{job.id}/cancel/", {"status": "DONE"}, format="json"),
                   400, "validation_error")
    assert "status" in error["fields"]
    job.refresh_from_db()
    assert job.status == Status.PENDING
    assert client.post(f"/api/jobs/{job.id}/cancel/", {}, format="json").status_code == 200


def test_staff_sees_and_acts_on_all_jobs(make_user_with_key, api, make_job, make_user):
    _, raw = make_user_with_key("root", staff=True)
    staff = api(raw)
    job = make_job(Status.PENDING, owner=make_user("someone"))
    assert staff.get(f"/api/jobs/{job.id}/").json()["owner"] == "someone"
    assert str(job.id) in {r["id"] for r in staff.get("/api/jobs/").json()["results"]}
    assert staff.post(f"/api/jobs/{job.id}/cancel/").json()["status"] == "CANCELLED"


def test_tasks_lists_the_registry(alice):
    _, client = alice
    tasks = client.get("/api/tasks/").json()
    names = [t["name"] for t in tasks]
    assert {"demo.echo", "demo.sleep", "demo.fail"} <= set(names) and names == sorted(names)
    assert all(isinstance(t["description"], str) for t in tasks)


def test_empty_filter_values_are_refused(alice):
    _, client = alice
    for name in ("status", "queue", "task", "created_after", "created_before", "id"):
        assert name in _error(client.get(f"/api/jobs/?{name}="), 400, "validation_error")["fields"]
