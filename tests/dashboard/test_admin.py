"""The admin: the job changelist (capped count, filters, search), lifecycle actions, and API keys shown once."""
import re

import pytest
from django.contrib.messages import get_messages

from queue_app.auth import hash_key, lookup
from queue_app.models import ApiKey, Job, PausedQueue, Quota, Status, Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(login, make_user):
    user = make_user(staff=True)
    user.is_superuser = True
    user.save()
    client, _ = login(user=user)
    return client


def test_job_changelist_with_filters_and_search(admin_client, make_job):
    a = make_job(task="demo.sleep", queue="q1", status=Status.DLQ)
    b = make_job(task="demo.echo")
    page = admin_client.get("/admin/queue_app/job/")
    assert page.status_code == 200
    assert page.context["cl"].show_full_result_count is False
    ids = lambda r: {j.id for j in r.context["cl"].result_list}  # noqa: E731
    assert ids(page) >= {a.id, b.id}
    assert ids(admin_client.get("/admin/queue_app/job/?status__exact=DLQ")) == {a.id}
    assert ids(admin_client.get("/admin/queue_app/job/?task=demo.sleep")) == {a.id}
    assert ids(admin_client.get("/admin/queue_app/job/?queue=q1")) == {a.id}
    assert ids(admin_client.get(f"/admin/queue_app/job/?q={str(a.id)[:28]}")) == {a.id}
    assert ids(admin_client.get("/admin/queue_app/job/?q=demo.sl")) == {a.id}
    year = a.created_at.year
    assert ids(admin_client.get(f"/admin/queue_app/job/?created_at__year={year}")) >= {a.id, b.id}
    assert admin_client.get("/admin/queue_app/job/?_facets=1").status_code == 200


def test_changelist_count_is_capped(admin_client, make_job, monkeypatch):
    from queue_app import admin as job_admin

    monkeypatch.setattr(job_admin, "COUNT_CAP", 3)
    for _ in range(5):
        make_job()
    page = admin_client.get("/admin/queue_app/job/")
    assert page.context["cl"].result_count == 4  # cap + 1: "more than 3"


def test_job_change_page_is_read_only_with_pretty_json_and_attempts(admin_client, make_job):
    from django.utils import timezone

    from queue_app.models import JobAttempt

    job = make_job(payload={"k": [1, 2]}, status=Status.DLQ, attempts=1)
    JobAttempt.objects.create(job=job, number=1, finished_at=timezone.now(), outcome="failed", error="E: x")
    page = admin_client.get(f"/admin/queue_app/job/{job.id}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "&quot;k&quot;: [\n    1," in body and "E: x" in body
    assert 'name="status"' not in body and 'name="attempts"' not in body
    assert admin_client.get("/admin/queue_app/job/add/").status_code == 403


def post_action(client, action, jobs):
    return client.post("/admin/queue_app/job/", {"action": action, "_selected_action": [str(j.id) for j in jobs]},
                       follow=True)


def test_admin_actions_go_through_the_lifecycle(admin_client, make_job):
    pending, dlq, cancelled, done = (make_job(), make_job(status=Status.DLQ), make_job(status=Status.CANCELLED),
                                     make_job(status=Status.DONE))
    response = post_action(admin_client, "cancel_jobs", [pending, done])
    assert any("Cancelled 1 job(s). 1 were not" in str(m) for m in get_messages(response.wsgi_request))
    response = post_action(admin_client, "redrive_jobs", [dlq, cancelled])
    statuses = dict(Job.objects.values_list("id", "status"))
    assert statuses[dlq.id] == "PENDING" and statuses[cancelled.id] == "CANCELLED"
    post_action(admin_client, "retry_jobs", [cancelled, pending])
    statuses = dict(Job.objects.values_list("id", "status"))
    assert statuses[cancelled.id] == "PENDING" and statuses[pending.id] == "PENDING"


def test_admin_redrive_respects_quota(admin_client, make_job, make_user):
    owner = make_user()
    Quota.objects.create(user=owner, max_active=0)
    dlq = make_job(owner=owner, status=Status.DLQ)
    response = post_action(admin_client, "redrive_jobs", [dlq])
    assert any("max_active" in str(m) for m in get_messages(response.wsgi_request))
    dlq.refresh_from_db()
    assert dlq.status == Status.DLQ


def test_api_key_is_shown_once_and_the_hash_never(admin_client, make_user):
    owner = make_user()
    response = admin_client.post("/admin/queue_app/apikey/add/", {"user": owner.pk, "name": "ci"}, follow=True)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    raw = re.search(r"jq_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+", " ".join(shown)).group(0)
    key = ApiKey.objects.get(user=owner)
    assert key.hashed_key == hash_key(raw) and lookup(raw) == key
    listing = admin_client.get("/admin/queue_app/apikey/").content.decode()
    change = admin_client.get(f"/admin/queue_app/apikey/{key.pk}/change/").content.decode()
    for body in (listing, change):
        assert raw not in body and key.hashed_key not in body
    assert key.prefix in listing and "ci" in listing
    admin_client.post("/admin/queue_app/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None and lookup(raw) is None


def test_quota_worker_and_paused_queue_admins(admin_client, make_user):
    from django.utils import timezone

    user = make_user()
    Quota.objects.create(user=user, max_active=5)
    Worker.objects.create(id="w1", hostname="h", pid=1, started_at=timezone.now(), last_heartbeat=timezone.now())
    for url in ["/admin/queue_app/quota/", f"/admin/queue_app/quota/{user.pk}/change/", "/admin/queue_app/worker/",
                "/admin/queue_app/pausedqueue/"]:
        assert admin_client.get(url).status_code == 200, url
    admin_client.post("/admin/queue_app/pausedqueue/add/", {"name": "emails"})
    assert PausedQueue.objects.get(name="emails").paused_by
    admin_client.post("/admin/queue_app/pausedqueue/emails/delete/", {"post": "yes"})
    assert not PausedQueue.objects.exists()


def test_admin_is_staff_only(login):
    client, _ = login()
    assert admin_client_status(client) == 302


def admin_client_status(client) -> int:
    return client.get("/admin/queue_app/job/").status_code
