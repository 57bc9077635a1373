"""Every dashboard page renders for a user and for staff, shows only what the user may see, and
answers an htmx poll with the live region (or 204 when nothing changed)."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from queue_app import tallies
from queue_app.models import Status, Worker, WorkerState

pytestmark = pytest.mark.django_db

PAGES = ["/", "/jobs/", "/submit/", "/dlq/", "/workers/", "/queues/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_is_styled_and_logs_in(client, make_user):
    user = make_user("alice")
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"dashboard/dashboard.css" in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-secret-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").context["user"] == user


@pytest.mark.parametrize("staff", [False, True])
@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders(login, make_job, url, staff):
    client, user = login(staff=staff)
    make_job(owner=user)
    response = client.get(url)
    assert response.status_code == 200
    assert b'id="live"' in response.content or url == "/submit/"
    assert b"vendor/htmx.min.js" in response.content


def test_static_assets_are_served_by_the_project():
    from django.contrib.staticfiles import finders

    for path in ["dashboard/vendor/htmx.min.js", "dashboard/dashboard.css", "dashboard/dashboard.js"]:
        assert finders.find(path), path


def test_overview_counts_only_own_jobs(login, make_job, make_user):
    client, user = login()
    other = make_user()
    make_job(owner=user, status=Status.DONE)
    make_job(owner=user, status=Status.DLQ)
    for _ in range(3):
        make_job(owner=other, status=Status.DONE)
    counts = {status: n for status, _, n in client.get("/").context["counts"]}
    assert counts["DONE"].n == 1 and counts["DLQ"].n == 1 and counts["PENDING"].n == 0

    staff, _ = login(staff=True)
    counts = {status: n for status, _, n in staff.get("/").context["counts"]}
    assert counts["DONE"].n == 4


def test_overview_counts_are_capped(login, make_job, monkeypatch):
    from dashboard import metrics

    monkeypatch.setattr(metrics, "COUNT_CAP", 2)
    client, user = login()
    for _ in range(3):
        make_job(owner=user, status=Status.DONE)
    capped = metrics.capped_count(metrics.scoped(user).filter(status=Status.DONE), cap=2)
    assert capped.capped and capped.n == 2
    assert str(metrics.capped_count(metrics.scoped(user).filter(status=Status.DLQ), cap=2)) == "0"


def test_overview_chart_reads_tallies(login):
    client, _ = login(staff=True)
    now = timezone.now()
    from collections import Counter

    tallies.record(Counter({("completed", "default"): 7, ("failed", "default"): 2, ("retried", "default"): 1}), now)
    ctx = client.get("/").context
    assert ctx["chart"]["completed"] == 7 and ctx["chart"]["failed"] == 2
    assert ctx["retry_rate"] == pytest.approx(1 / 9)
    assert b"7 completed and 2 failed" in client.get("/").content


def test_overview_shows_live_workers_and_their_jobs(login, make_job):
    client, user = login(staff=True)
    now = timezone.now()
    Worker.objects.create(id="w-live", hostname="h", pid=1, queues=["default"], concurrency=2, started_at=now,
                          last_heartbeat=now, busy=1)
    Worker.objects.create(id="w-gone", hostname="h", pid=2, started_at=now - timedelta(hours=1),
                          last_heartbeat=now - timedelta(hours=1), state=WorkerState.STOPPED, stopped_at=now)
    job = make_job(owner=user, status=Status.RUNNING, lease_owner="w-live")
    ctx = client.get("/").context
    assert [w.id for w in ctx["workers"]] == ["w-live"]
    assert ctx["workers"][0].current_jobs == [job]
    page = client.get("/workers/")
    assert [w.id for w in page.context["live_workers"]] == ["w-live"]
    assert [w.id for w in page.context["recent"]] == ["w-gone"]


def test_oldest_pending_age(login, make_job):
    client, user = login()
    make_job(owner=user, run_at=timezone.now() - timedelta(seconds=120))
    assert client.get("/").context["oldest_pending"] >= 119
    staff, _ = login(staff=True)
    assert staff.get("/").context["oldest_pending"] >= 119


def test_htmx_poll_returns_region_then_204_when_unchanged(login, make_job):
    client, user = login()
    job = make_job(owner=user)
    first = client.get(f"/jobs/{job.id}/", HTTP_HX_REQUEST="true")
    assert first.status_code == 200
    assert first.content.lstrip().startswith(b'<div class="live"')
    version = re.search(rb'data-version="([0-9a-f]+)"', first.content).group(1).decode()
    same = client.get(f"/jobs/{job.id}/", HTTP_HX_REQUEST="true", HTTP_X_DASH_VERSION=version)
    assert same.status_code == 204
    from queue_app import lifecycle

    lifecycle.cancel(job)
    changed = client.get(f"/jobs/{job.id}/", HTTP_HX_REQUEST="true", HTTP_X_DASH_VERSION=version)
    assert changed.status_code == 200 and b"CANCELLED" in changed.content


def test_live_region_polls_only_while_visible(login):
    client, _ = login()
    body = client.get("/jobs/").content.decode()
    assert 'hx-trigger="every 1500ms [dash.shouldPoll(this)]' in body
    assert "visibilitychange from:document" in body


def test_jobs_list_is_scoped_and_filtered(login, make_job, make_user):
    client, user = login()
    mine = make_job(owner=user, task="demo.echo", queue="q1")
    mine_done = make_job(owner=user, status=Status.DONE, task="demo.sleep")
    theirs = make_job(owner=make_user())
    ids = lambda r: {j.id for j in r.context["jobs"]}  # noqa: E731
    assert ids(client.get("/jobs/")) == {mine.id, mine_done.id}
    assert ids(client.get("/jobs/?status=DONE")) == {mine_done.id}
    assert ids(client.get("/jobs/?queue=q1")) == {mine.id}
    assert ids(client.get("/jobs/?task=demo.sleep")) == {mine_done.id}
    assert ids(client.get(f"/jobs/?q={str(mine.id)[:28]}")) == {mine.id}
    assert ids(client.get(f"/jobs/?q={theirs.id}")) == set()
    assert ids(client.get("/jobs/?q=not-hex!")) == set()
    # a non-staff user's ?user= is ignored: still only their own jobs
    assert ids(client.get(f"/jobs/?user={theirs.owner.username}")) == {mine.id, mine_done.id}


def test_staff_see_everyone_and_filter_by_user(login, make_job, make_user):
    client, _ = login(staff=True)
    a, b = make_user("ann"), make_user("bob")
    ja, jb = make_job(owner=a), make_job(owner=b)
    assert {j.id for j in client.get("/jobs/").context["jobs"]} >= {ja.id, jb.id}
    assert {j.id for j in client.get("/jobs/?user=ann").context["jobs"]} == {ja.id}
    page = client.get("/jobs/?user=nobody")
    assert list(page.context["jobs"]) == [] and b"No user named" in page.content


def test_jobs_keyset_pagination(login, make_job):
    client, user = login()
    base = timezone.now()
    made = [make_job(owner=user, created_at=base - timedelta(seconds=i)) for i in range(120)]
    seen, url = [], "/jobs/"
    while url:
        page = client.get(url)
        seen += [j.id for j in page.context["jobs"]]
        nxt = page.context["next_url"]
        url = f"/jobs/{nxt}" if nxt else None
    assert seen == [j.id for j in made]
    assert "OFFSET" not in str(client.get("/jobs/").context["jobs"])


def test_job_detail_shows_everything(login, make_job):
    from queue_app.models import JobAttempt

    client, user = login()
    job = make_job(owner=user, status=Status.DLQ, attempts=1, payload={"b": 1, "a": [1, 2]}, result=None,
                   last_error="boom", finished_at=timezone.now())
    JobAttempt.objects.create(job=job, number=1, worker="w1", finished_at=timezone.now(), outcome="failed",
                              error="DemoFailure: boom", traceback="Traceback (most recent call last):\n  x")
    page = client.get(f"/jobs/{job.id}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert '{\n  &quot;a&quot;: [\n    1,\n    2\n  ],\n  &quot;b&quot;: 1\n}' in body
    assert "DemoFailure: boom" in body and "Traceback (most recent call last)" in body
    assert page.context["can_retry"] and not page.context["can_cancel"]
    assert str(job.id) in body


def test_another_users_job_is_404(login, make_job, make_user):
    client, _ = login()
    theirs = make_job(owner=make_user(), status=Status.DLQ)
    pending = make_job(owner=theirs.owner)
    assert client.get(f"/jobs/{theirs.id}/").status_code == 404
    assert client.get(f"/jobs/{theirs.id}/", HTTP_HX_REQUEST="true").status_code == 404
    assert client.post(f"/jobs/{theirs.id}/retry/").status_code == 404
    assert client.post(f"/jobs/{pending.id}/cancel/").status_code == 404
    theirs.refresh_from_db()
    pending.refresh_from_db()
    assert theirs.status == Status.DLQ and pending.status == Status.PENDING
    # the DLQ bulk action silently skips ids the user may not see
    client.post("/dlq/action/", {"do": "redrive:selected", "ids": [str(theirs.id)]})
    theirs.refresh_from_db()
    assert theirs.status == Status.DLQ
    # staff may act on it
    staff, _ = login(staff=True)
    assert staff.get(f"/jobs/{theirs.id}/").status_code == 200


def test_unknown_job_is_404(login):
    import uuid

    client, _ = login()
    assert client.get(f"/jobs/{uuid.uuid4()}/").status_code == 404


def test_staff_pages_finished_jobs_by_finish_time(login, make_job, make_user):
    client, _ = login(staff=True)
    owner = make_user()
    base = timezone.now()
    made = [make_job(owner=owner, status=Status.DONE, finished_at=base - timedelta(seconds=i),
                     created_at=base - timedelta(seconds=200 - i)) for i in range(70)]
    seen, url = [], "/jobs/?status=DONE"
    while url:
        page = client.get(url)
        assert page.context["sorted_by"] == "finished_at"
        seen += [j.id for j in page.context["jobs"]]
        url = f"/jobs/{page.context['next_url']}" if page.context["next_url"] else None
    assert seen == [j.id for j in made]
    # one owner's list pages by creation time through the (owner, created_at) index
    page = client.get(f"/jobs/?status=DONE&user={owner.username}")
    assert page.context["sorted_by"] == "created_at"
    assert [j.id for j in page.context["jobs"]] == [j.id for j in reversed(made)][:50]
