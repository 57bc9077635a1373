"""GET /api/stats/: counts per status and queue, oldest pending age, recent outcomes; staff see everyone."""
from datetime import timedelta

import pytest
from django.utils import timezone

from queue_app import stats
from queue_app.models import Status

pytestmark = pytest.mark.django_db


def _jobs(make_job, owner, now):
    make_job(Status.PENDING, owner=owner, queue="a", run_at=now - timedelta(seconds=30))
    make_job(Status.PENDING, owner=owner, queue="b", run_at=now + timedelta(hours=1))  # not due: not waiting
    make_job(Status.RUNNING, owner=owner, queue="a")
    make_job(Status.FAILED, owner=owner, queue="a", attempts=1)
    make_job(Status.DONE, owner=owner, finished_at=now - timedelta(seconds=10))
    make_job(Status.DONE, owner=owner, finished_at=now - timedelta(minutes=10))
    make_job(Status.DONE, owner=owner, finished_at=now - timedelta(hours=3))
    make_job(Status.DLQ, owner=owner, attempts=4, finished_at=now - timedelta(seconds=5))
    make_job(Status.CANCELLED, owner=owner, finished_at=now)


def test_user_stats(alice, make_job, make_user):
    user, client = alice
    now = timezone.now()
    _jobs(make_job, user, now)
    _jobs(make_job, make_user("bob"), now)
    body = client.get("/api/stats/").json()
    assert body["scope"] == "user"
    assert body["by_status"] == {"PENDING": 2, "RUNNING": 1, "FAILED": 1, "DONE": 3, "DLQ": 1, "CANCELLED": 1}
    assert body["by_queue"] == {"a": {"PENDING": 1, "RUNNING": 1, "FAILED": 1}, "b": {"PENDING": 1}}
    assert 29 <= body["oldest_pending_age_seconds"] < 60
    assert body["completed"] == {"last_minute": 1, "last_hour": 2}
    assert body["failed"] == {"last_minute": 1, "last_hour": 1}
    assert body["capped"] == [] and body["count_cap"] == stats.COUNT_CAP
    assert "per_user" not in body and "autoscaling" not in body


def test_staff_stats_cover_everyone_and_each_user(make_user_with_key, api, make_job, make_user):
    _, raw = make_user_with_key("root", staff=True)
    now = timezone.now()
    _jobs(make_job, make_user("carol"), now)
    _jobs(make_job, make_user("dave"), now)
    body = api(raw).get("/api/stats/").json()
    assert body["scope"] == "all" and body["by_status"]["DONE"] == 6 and body["by_status"]["PENDING"] == 4
    assert "autoscaling" in body and isinstance(body["autoscaling"], dict)
    users = {u["username"]: u for u in body["per_user"]}
    assert set(users) == {"carol", "dave"} and body["per_user_truncated"] is False
    assert users["carol"]["active"] == {"PENDING": 2, "RUNNING": 1, "FAILED": 1}
    assert users["carol"]["completed_last_hour"] == 2 and users["carol"]["failed_last_hour"] == 1


def test_finished_counts_are_capped(alice, make_job, monkeypatch, make_user_with_key, api):
    user, client = alice
    monkeypatch.setattr(stats, "COUNT_CAP", 3)
    for _ in range(5):
        make_job(Status.DONE, owner=user, finished_at=timezone.now())
    make_job(Status.DLQ, owner=user, finished_at=timezone.now())
    body = client.get("/api/stats/").json()  # one user: their newest 3 jobs, so every finished count is a bound
    assert body["by_status"]["DONE"] + body["by_status"]["DLQ"] == 3 and body["count_cap"] == 3
    assert set(body["capped"]) == {"DONE", "DLQ", "CANCELLED"}
    assert body["completed"]["last_hour"] == 5 and body["failed"]["last_hour"] == 1  # windows are exact
    _, raw = make_user_with_key("root", staff=True)
    everyone = api(raw).get("/api/stats/").json()  # everyone: each status counted up to the cap
    assert everyone["by_status"]["DONE"] == 3 and everyone["by_status"]["DLQ"] == 1 and everyone["capped"] == ["DONE"]


def test_empty_stats(alice):
    _, client = alice
    body = client.get("/api/stats/").json()
    assert body["oldest_pending_age_seconds"] is None and set(body["by_status"]) == set(Status.values)
