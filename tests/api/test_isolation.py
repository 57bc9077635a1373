"""Isolation: another user's job is indistinguishable from a job that does not exist, everywhere."""
import uuid

import pytest

from queue_app.models import Job, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_users(make_user_with_key, api, make_job):
    owner, owner_key = make_user_with_key("owner")
    _, other_key = make_user_with_key("other")
    jobs = {s: make_job(s, owner=owner, queue="secret-q", task="demo.sleep") for s in Status.values}
    return api(owner_key), api(other_key), jobs


def test_detail_and_actions_answer_404_exactly_like_a_missing_id(two_users):
    _, other, jobs = two_users
    missing = uuid.uuid4()
    for job in jobs.values():
        for method, suffix in [("get", ""), ("post", "cancel/"), ("post", "retry/")]:
            theirs = getattr(other, method)(f"/api/jobs/{job.id}/{suffix}")
            nothing = getattr(other, method)(f"/api/jobs/{missing}/{suffix}")
            assert theirs.status_code == nothing.status_code == 404
            assert theirs.json() == nothing.json()
            assert theirs.json()["error"]["code"] == "not_found"
    assert {j.status for j in Job.objects.all()} == set(Status.values)  # nothing changed


def test_list_and_every_filter_exclude_other_users_jobs(two_users):
    owner, other, jobs = two_users
    queries = [{}, {"status": list(Status.values)}, {"queue": "secret-q"}, {"task": "demo.sleep"},
               {"created_after": "2000-01-01T00:00:00Z"}, {"created_before": "2100-01-01T00:00:00Z"}]
    queries += [{"id": str(job.id)} for job in jobs.values()] + [{"id": str(job.id)[:8]} for job in jobs.values()]
    for query in queries:
        response = other.get("/api/jobs/", query)
        assert response.status_code == 200 and response.json()["results"] == [], query
        assert len(owner.get("/api/jobs/", query).json()["results"]) >= 1, query


def test_stats_and_quota_count_only_the_callers_jobs(two_users):
    owner, other, _ = two_users
    theirs = other.get("/api/stats/").json()
    assert sum(theirs["by_status"].values()) == 0 and theirs["by_queue"] == {}
    assert "per_user" not in theirs and "autoscaling" not in theirs
    mine = owner.get("/api/stats/").json()
    assert sum(mine["by_status"].values()) == len(Status.values)
    assert other.get("/api/quota/").json()["usage"]["active"] == 0
    assert owner.get("/api/quota/").json()["usage"]["active"] == 3


def test_idempotency_keys_are_scoped_per_user(two_users):
    owner, other, _ = two_users
    body = {"task": "demo.echo", "payload": {"n": 1}}
    first = owner.post("/api/jobs/", body, format="json", HTTP_IDEMPOTENCY_KEY="shared-key")
    second = other.post("/api/jobs/", {**body, "payload": {"n": 2}}, format="json", HTTP_IDEMPOTENCY_KEY="shared-key")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"] and second.json()["owner"] == "other"
