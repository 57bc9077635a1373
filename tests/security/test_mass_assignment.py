"""11. Mass assignment and over-exposure: lifecycle and ownership fields cannot be written through the API,
and lease tokens, lease owners, key hashes and request fingerprints never appear in a response."""
import json

import pytest

from queue_app.auth import hash_key
from queue_app.models import Job, Status

FORBIDDEN = {
    "owner": 1, "owner_id": 1, "status": "DONE", "attempts": 0, "lease_token": "f" * 32, "lease_owner": "me",
    "lease_expires_at": "2030-01-01T00:00:00Z", "result": {"forged": True},
    "id": "01a22424-0000-7000-8000-000000000000",
    "created_at": "2020-01-01T00:00:00Z", "finished_at": "2020-01-01T00:00:00Z", "last_error": "x",
    "idempotency_key": "k", "request_fingerprint": "x",
}
HIDDEN_FIELDS = {"lease_token", "lease_owner", "lease_expires_at", "hashed_key", "request_fingerprint",
                 "idempotency_key", "password"}


def _keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


@pytest.mark.django_db
@pytest.mark.parametrize("field", sorted(FORBIDDEN))
def test_submitting_a_lifecycle_or_ownership_field_is_refused(world, field):
    a = world["a"]
    before = Job.objects.count()
    response = a.api.post("/api/jobs/", json.dumps({"task": "demo.echo", field: FORBIDDEN[field]}),
                          content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "validation_error" and field in body["fields"]
    batch = a.api.post("/api/jobs/batch/", json.dumps({"jobs": [{"task": "demo.echo", field: FORBIDDEN[field]}]}),
                       content_type="application/json")
    assert batch.status_code == 400, batch.content
    assert Job.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_actions_take_no_fields(world, action):
    a = world["a"]
    job = world["jobs"][Status.PENDING if action == "cancel" else Status.DLQ]
    response = a.api.post(f"/api/jobs/{job.pk}/{action}/", json.dumps({"status": "DONE", "attempts": 0}),
                          content_type="application/json")
    assert response.status_code == 400
    job.refresh_from_db()
    assert job.status == (Status.PENDING if action == "cancel" else Status.DLQ)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_jobs_cannot_be_edited_or_deleted_directly(world, method):
    a = world["a"]
    job = world["jobs"][Status.RUNNING]
    response = getattr(a.api, method)(f"/api/jobs/{job.pk}/", json.dumps({"status": "DONE"}),
                                      content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    job.refresh_from_db()
    assert job.status == Status.RUNNING


@pytest.mark.django_db
def test_no_response_exposes_lease_tokens_or_key_hashes(world):
    a, staff = world["a"], world["staff"]
    running = world["jobs"][Status.RUNNING]
    secrets = [running.lease_token, running.lease_owner, world["a_key"].hashed_key, hash_key(a.raw_key)]
    created = a.api.post("/api/jobs/", json.dumps({"task": "demo.echo"}), content_type="application/json",
                         HTTP_IDEMPOTENCY_KEY="idem-secret-123")
    assert created.status_code == 201
    responses = [created]
    for client in (a.api, staff.api):
        for url in ["/api/jobs/", f"/api/jobs/{running.pk}/", "/api/stats/", "/api/quota/", "/api/tasks/",
                    "/api/jobs/?status=RUNNING", f"/api/jobs/{created.json()['id']}/"]:
            responses.append(client.get(url))
    for response in responses:
        assert response.status_code in (200, 201), response.content
        text = response.content.decode()
        for secret in secrets + ["idem-secret-123"]:
            assert secret not in text, (response.request["PATH_INFO"], secret)
        assert not HIDDEN_FIELDS & set(_keys(response.json())), response.request["PATH_INFO"]
