"""Idempotent submission and all-or-nothing batches."""
import pytest
from django.test import override_settings

from queue_app.models import Job
from queue_app.quotas import quota_row

pytestmark = pytest.mark.django_db


def test_idempotent_replay_returns_the_original_with_200(alice):
    _, client = alice
    body = {"task": "demo.echo", "payload": {"a": 1}}
    first = client.post("/api/jobs/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    again = client.post("/api/jobs/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Job.objects.count() == 1


def test_idempotency_key_with_a_different_body_is_a_conflict(alice):
    _, client = alice
    client.post("/api/jobs/", {"task": "demo.echo", "payload": {"a": 1}}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = client.post("/api/jobs/", {"task": "demo.echo", "payload": {"a": 2}}, format="json",
                           HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    assert Job.objects.count() == 1


def test_bad_idempotency_key(alice):
    _, client = alice
    response = client.post("/api/jobs/", {"task": "demo.echo"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["fields"]


def test_batch_creates_every_job(alice):
    _, client = alice
    jobs = [{"task": "demo.echo", "payload": {"i": i}} for i in range(5)]
    response = client.post("/api/jobs/batch/", {"jobs": jobs}, format="json")
    assert response.status_code == 201, response.content
    assert [j["payload"]["i"] for j in response.json()["jobs"]] == list(range(5))
    assert Job.objects.count() == 5


def test_batch_is_all_or_nothing_and_names_the_bad_jobs(alice):
    _, client = alice
    jobs = [{"task": "demo.echo"}, {"task": "no.such.task"}, {"task": "demo.echo"}, {"task": "demo.echo", "x": 1}]
    response = client.post("/api/jobs/batch/", {"jobs": jobs}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]["jobs"]
    assert set(fields) == {"3"} and "x" in fields["3"]
    response = client.post("/api/jobs/batch/", {"jobs": jobs[:3]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]["jobs"]) == {"1"}
    assert Job.objects.count() == 0


def test_batch_limits(alice):
    _, client = alice
    assert client.post("/api/jobs/batch/", {"jobs": []}, format="json").status_code == 400
    assert client.post("/api/jobs/batch/", {"jobs": [{"task": "demo.echo"}], "owner": "x"},
                       format="json").status_code == 400
    with override_settings(JOBQUEUE_BURST=1000, JOBQUEUE_RATE_PER_MINUTE=1000):
        too_many = client.post("/api/jobs/batch/", {"jobs": [{"task": "demo.echo"}] * 501}, format="json")
        assert too_many.status_code == 400 and "jobs" in too_many.json()["error"]["fields"]
        assert client.post("/api/jobs/batch/", {"jobs": [{"task": "demo.echo"}] * 500},
                           format="json").status_code == 201
    assert Job.objects.count() == 500


def test_batch_that_does_not_fit_the_quota_is_refused_whole(alice):
    user, client = alice
    quota = quota_row(user, lock=False)
    quota.burst, quota.rate_per_minute = 10, 1
    quota.save()
    assert client.post("/api/jobs/batch/", {"jobs": [{"task": "demo.echo"}] * 4}, format="json").status_code == 201
    response = client.post("/api/jobs/batch/", {"jobs": [{"task": "demo.echo"}] * 7}, format="json")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["limit"] == "rate_per_minute"
    assert Job.objects.count() == 4
    assert client.post("/api/jobs/batch/", {"jobs": [{"task": "demo.echo"}] * 6}, format="json").status_code == 201


def test_batch_payload_too_large_names_the_job(alice):
    _, client = alice
    jobs = [{"task": "demo.echo"}, {"task": "demo.echo", "payload": {"x": "y" * 70000}}]
    response = client.post("/api/jobs/batch/", {"jobs": jobs}, format="json")
    assert response.status_code == 413 and response.json()["error"]["index"] == 1
    assert Job.objects.count() == 0
