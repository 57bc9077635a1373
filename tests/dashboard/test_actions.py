"""Dashboard actions: submit, cancel, retry, DLQ redrive/discard, queue pause/resume; CSRF on all of them."""
import json

import pytest
from django.contrib.messages import get_messages

from queue_app.models import Job, PausedQueue, Quota, Status

pytestmark = pytest.mark.django_db


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def form_data(**over) -> dict:
    data = {"task": "demo.echo", "queue": "default", "priority": "0", "delay_seconds": "", "max_retries": "",
            "timeout_seconds": "", "payload": '{"hello": "world"}'}
    data.update(over)
    return data


def test_submit_form_lists_registered_tasks(login):
    client, _ = login()
    page = client.get("/submit/")
    choices = [value for value, _ in page.context["form"].fields["task"].choices]
    assert {"demo.echo", "demo.sleep", "demo.fail"} <= set(choices)
    assert b'data-json="object"' in page.content


def test_submit_creates_the_job_and_redirects_to_it(login):
    client, user = login()
    response = client.post("/submit/", form_data(priority="5", max_retries="2", delay_seconds="30"))
    job = Job.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}/"
    assert job.payload == {"hello": "world"} and job.priority == 5 and job.max_retries == 2
    assert (job.run_at - job.created_at).total_seconds() == pytest.approx(30, abs=1)
    assert job.status == Status.PENDING


@pytest.mark.parametrize("payload, message", [
    ("{not json", "Not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('"text"', "must be a JSON object"),
])
def test_submit_refuses_bad_json_inline(login, payload, message):
    client, user = login()
    response = client.post("/submit/", form_data(payload=payload))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["payload"])
    assert message in response.content.decode()
    assert not Job.objects.filter(owner=user).exists()


def test_submit_shows_the_lifecycle_validation_inline(login, settings):
    settings.JOBQUEUE_MAX_RETRIES_CAP = 2
    client, user = login()
    response = client.post("/submit/", form_data(max_retries="9", queue="bad queue!"))
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert "max_retries" in errors and "queue" in errors
    assert not Job.objects.filter(owner=user).exists()


def test_submit_unknown_task_is_refused(login):
    client, _ = login()
    response = client.post("/submit/", form_data(task="no.such.task"))
    assert response.status_code == 400 and "task" in response.context["form"].errors


def test_submit_over_quota_says_why(login):
    client, user = login()
    Quota.objects.create(user=user, max_payload_bytes=10)
    response = client.post("/submit/", form_data(payload=json.dumps({"x": "y" * 50})))
    assert response.status_code == 400
    assert "limit is 10" in " ".join(response.context["form"].non_field_errors())


def test_cancel_and_retry_from_the_detail_page(login, make_job):
    client, user = login()
    job = make_job(owner=user)
    response = client.post(f"/jobs/{job.id}/cancel/")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}/"
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert client.get(f"/jobs/{job.id}/").context["can_retry"]
    client.post(f"/jobs/{job.id}/retry/")
    job.refresh_from_db()
    assert job.status == Status.PENDING and job.attempts == 0


def test_invalid_transition_is_a_message_not_an_error(login, make_job):
    client, user = login()
    job = make_job(owner=user, status=Status.DONE)
    response = client.post(f"/jobs/{job.id}/cancel/", follow=True)
    assert response.status_code == 200
    assert any("cannot be cancelled" in t for t in texts(response))


def test_actions_are_post_only(login, make_job):
    client, user = login()
    job = make_job(owner=user)
    assert client.get(f"/jobs/{job.id}/cancel/").status_code == 405
    assert client.get("/dlq/action/").status_code == 405


def dead(make_job, owner, n=1, **fields):
    return [make_job(owner=owner, status=Status.DLQ, attempts=1, last_error="boom", **fields) for _ in range(n)]


def test_dlq_lists_only_dead_jobs_with_their_error(login, make_job):
    client, user = login()
    corpses = dead(make_job, user, 2)
    make_job(owner=user)
    page = client.get("/dlq/")
    assert {j.id for j in page.context["jobs"]} == {j.id for j in corpses}
    assert b"boom" in page.content and page.context["total"].n == 2


def test_dlq_redrive_one_selected_and_all_matching(login, make_job):
    client, user = login()
    a, b, c, d = dead(make_job, user, 4, queue="q1")
    e = dead(make_job, user, 1, queue="q2")[0]
    client.post("/dlq/action/", {"do": f"redrive:{a.id}"})
    client.post("/dlq/action/", {"do": "redrive:selected", "ids": [str(b.id), str(c.id)]})
    statuses = dict(Job.objects.values_list("id", "status"))
    assert [statuses[j.id] for j in (a, b, c, d, e)] == ["PENDING", "PENDING", "PENDING", "DLQ", "DLQ"]
    response = client.post("/dlq/action/?queue=q1", {"do": "redrive:matching"})
    assert response["Location"] == "/dlq/?queue=q1"
    statuses = dict(Job.objects.values_list("id", "status"))
    assert statuses[d.id] == "PENDING" and statuses[e.id] == "DLQ"
    assert any("Redrove 1 job" in t for t in texts(response))


def test_dlq_discard(login, make_job):
    client, user = login()
    a, b = dead(make_job, user, 2)
    client.post("/dlq/action/", {"do": "discard:selected", "ids": [str(a.id)]})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == Status.CANCELLED and b.status == Status.DLQ


def test_dlq_bulk_redrive_respects_quota(login, make_job):
    client, user = login()
    Quota.objects.create(user=user, max_active=2)
    make_job(owner=user)
    dead(make_job, user, 3)
    response = client.post("/dlq/action/", {"do": "redrive:matching"}, follow=True)
    assert any("max_active" in t for t in texts(response))
    assert Job.objects.filter(owner=user, status=Status.DLQ).count() == 3  # all or nothing


def test_dlq_matching_never_reaches_other_users(login, make_job, make_user):
    client, user = login()
    mine = dead(make_job, user, 1)[0]
    theirs = dead(make_job, make_user(), 1)[0]
    client.post("/dlq/action/", {"do": "redrive:matching"})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == Status.PENDING and theirs.status == Status.DLQ


def test_queues_page_and_pause_resume_for_staff(login, make_job):
    client, user = login(staff=True)
    make_job(owner=user, queue="emails")
    page = client.get("/queues/")
    assert "emails" in [q["name"] for q in page.context["queues"]]
    assert b"/queues/emails/pause/" in page.content
    client.post("/queues/emails/pause/")
    assert PausedQueue.objects.filter(name="emails").exists()
    row = next(q for q in client.get("/queues/").context["queues"] if q["name"] == "emails")
    assert row["paused"] and row["ready"].n == 1
    client.post("/queues/emails/resume/")
    assert not PausedQueue.objects.exists()


def test_queues_pause_is_staff_only(login, make_job):
    client, user = login()
    make_job(owner=user, queue="emails")
    assert b"/pause/" not in client.get("/queues/").content
    assert client.post("/queues/emails/pause/").status_code == 403
    assert not PausedQueue.objects.exists()


POSTS = [
    ("/submit/", lambda job: form_data()),
    ("/jobs/{id}/cancel/", lambda job: {}),
    ("/jobs/{id}/retry/", lambda job: {}),
    ("/dlq/action/", lambda job: {"do": "redrive:matching"}),
    ("/queues/default/pause/", lambda job: {}),
]


@pytest.mark.parametrize("url, data", POSTS)
def test_posts_without_csrf_token_are_refused(login, make_job, url, data):
    client, user = login(staff=True, csrf=True)
    job = make_job(owner=user, status=Status.DLQ)
    before = (Job.objects.count(), job.status, PausedQueue.objects.count())
    response = client.post(url.format(id=job.id), data(job))
    assert response.status_code == 403
    job.refresh_from_db()
    assert (Job.objects.count(), job.status, PausedQueue.objects.count()) == before


def test_posts_with_csrf_token_pass(login, make_job):
    client, user = login(csrf=True)
    job = make_job(owner=user)
    client.get(f"/jobs/{job.id}/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/jobs/{job.id}/cancel/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
