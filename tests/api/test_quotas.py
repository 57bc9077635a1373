"""Quota refusals through the API: their shape, Retry-After, and GET /api/quota/."""
import pytest

from queue_app.models import Job, Status
from queue_app.quotas import quota_row

pytestmark = pytest.mark.django_db


def _set(user, **limits):
    quota = quota_row(user, lock=False)
    for name, value in limits.items():
        setattr(quota, name, value)
    quota.save()


def test_rate_limit_refusal(alice):
    user, client = alice
    _set(user, burst=3, rate_per_minute=1)
    for _ in range(3):
        assert client.post("/api/jobs/", {"task": "demo.echo"}, format="json").status_code == 201
    response = client.post("/api/jobs/", {"task": "demo.echo"}, format="json")
    assert response.status_code == 429
    assert response["Retry-After"].isdigit() and 1 <= int(response["Retry-After"]) <= 60
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["limit"] == "rate_per_minute"
    assert error["limit_value"] == 1 and error["usage"] == pytest.approx(3, abs=0.01)
    assert Job.objects.count() == 3


def test_max_active_refusal_and_redrive_check(alice, make_job):
    user, client = alice
    _set(user, max_active=2)
    assert client.post("/api/jobs/", {"task": "demo.echo"}, format="json").status_code == 201
    make_job(Status.RUNNING, owner=user)
    response = client.post("/api/jobs/", {"task": "demo.echo"}, format="json")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    error = response.json()["error"]
    assert (error["code"], error["limit"], error["limit_value"], error["usage"]) == ("quota_exceeded", "max_active",
                                                                                    2, 2)
    dead = make_job(Status.DLQ, owner=user)
    response = client.post(f"/api/jobs/{dead.id}/retry/")
    assert response.status_code == 429 and response.json()["error"]["code"] == "quota_exceeded"
    dead.refresh_from_db()
    assert dead.status == Status.DLQ


def test_caps_on_retries_and_timeout(alice):
    user, client = alice
    _set(user, max_retries_cap=2, max_timeout_seconds=10)
    bad = client.post("/api/jobs/", {"task": "demo.echo", "max_retries": 3, "timeout_seconds": 11}, format="json")
    assert bad.status_code == 400 and {"max_retries", "timeout_seconds"} <= set(bad.json()["error"]["fields"])
    ok = client.post("/api/jobs/", {"task": "demo.echo", "max_retries": 2, "timeout_seconds": 10}, format="json")
    assert ok.status_code == 201


def test_payload_limit_per_user(alice):
    user, client = alice
    _set(user, max_payload_bytes=20)
    response = client.post("/api/jobs/", {"task": "demo.echo", "payload": {"text": "x" * 20}}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["limit_value"] == 20


def test_quota_endpoint_shows_limits_and_usage(alice, make_job, settings):
    user, client = alice
    _set(user, burst=10, rate_per_minute=60, max_running=2)
    client.post("/api/jobs/", {"task": "demo.echo"}, format="json")
    make_job(Status.RUNNING, owner=user)
    body = client.get("/api/quota/").json()
    assert body["username"] == "alice"
    assert body["limits"]["burst"] == 10 and body["limits"]["max_running"] == 2
    assert body["limits"]["max_active"] == settings.JOBQUEUE_MAX_ACTIVE
    assert body["usage"]["active"] == 2 and body["usage"]["running"] == 1
    assert 8.9 < body["usage"]["tokens_available"] < 9.5
