"""Management commands: enqueue, purge, set_quota, create_api_key."""
import hashlib
import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from queue_app import clock
from queue_app.auth import lookup
from queue_app.models import ApiKey, Job, JobAttempt, Outcome, Quota, Status
from tests import procs


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


# --- enqueue -------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_enqueue_prints_the_id_last_and_exits_cleanly_on_errors(make_user):
    user = make_user()
    done = procs.manage("enqueue", "demo.echo", '{"a": 1}', "--user", user.username)
    assert done.returncode == 0, done.stderr
    job = Job.objects.get(pk=uuid.UUID(done.stdout.strip().splitlines()[-1]))
    assert (job.task, job.payload, job.owner, job.status) == ("demo.echo", {"a": 1}, user, Status.PENDING)

    bad = procs.manage("enqueue", "demo.echo", "{not json", "--user", user.username)
    assert bad.returncode == 1
    assert "CommandError: PAYLOAD_JSON is not valid JSON" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_enqueue_options(make_user):
    user = make_user()
    before = clock.now()
    lines = run("enqueue", "demo.sleep", '{"seconds": 1}', "--user", user.username, "--queue", "slow",
                "--priority", "9", "--delay", "60", "--max-retries", "1", "--timeout", "5")
    job = Job.objects.get(pk=lines[-1])
    assert (job.queue, job.priority, job.max_retries, job.timeout_seconds) == ("slow", 9, 1, 5)
    assert before + timedelta(seconds=59) < job.run_at < clock.now() + timedelta(seconds=61)
    assert job.payload == {"seconds": 1}


@pytest.mark.django_db
def test_enqueue_payload_defaults_to_an_empty_object(make_user):
    user = make_user()
    job = Job.objects.get(pk=run("enqueue", "demo.echo", "--user", user.username)[-1])
    assert job.payload == {}


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["demo.echo", "{oops", "--user", "{user}"], "not valid JSON"),
    (["demo.echo", "{}", "--user", "nobody-here"], "No user named 'nobody-here'"),
    (["nope.unknown", "{}", "--user", "{user}"], "Unknown task 'nope.unknown'"),
    (["demo.echo", "[1, 2]", "--user", "{user}"], "validation_error"),
    (["demo.echo", "{}", "--user", "{user}", "--priority", "99999"], "priority"),
])
def test_enqueue_errors_are_command_errors(make_user, args, message):
    user = make_user()
    args = [a.replace("{user}", user.username) for a in args]
    with pytest.raises(CommandError) as info:
        run("enqueue", *args)
    assert message in str(info.value)
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_enqueue_with_an_idempotency_key_replays(make_user):
    user = make_user()
    first = run("enqueue", "demo.echo", "{}", "--user", user.username, "--idempotency-key", "k-1")[-1]
    again = run("enqueue", "demo.echo", "{}", "--user", user.username, "--idempotency-key", "k-1")[-1]
    assert first == again and Job.objects.count() == 1


# --- purge ---------------------------------------------------------------------------------------
def _finished(make_job, owner, status, days_ago, **fields):
    when = clock.now() - timedelta(days=days_ago)
    job = make_job(status=status, owner=owner, created_at=when, finished_at=when, **fields)
    JobAttempt.objects.create(job=job, number=1, finished_at=when, outcome=Outcome.DONE)
    return job


@pytest.mark.django_db
def test_purge_deletes_only_old_jobs_of_the_given_status_in_batches(make_job, make_user):
    owner = make_user()
    old_done = [_finished(make_job, owner, Status.DONE, 10, attempts=1) for _ in range(5)]
    recent_done = _finished(make_job, owner, Status.DONE, 1, attempts=1)
    old_dead = _finished(make_job, owner, Status.DLQ, 10, attempts=4)
    old_cancelled = _finished(make_job, owner, Status.CANCELLED, 10)
    pending = make_job(owner=owner, created_at=clock.now() - timedelta(days=30))
    failed = make_job(status=Status.FAILED, owner=owner, attempts=1, created_at=clock.now() - timedelta(days=30))

    with CaptureQueriesContext(connection) as queries:
        lines = run("purge", "--status", "DONE", "--older-than", "7d", "--batch-size", "2")
    assert lines[-1] == "Deleted 5 job(s)."
    job_deletes = [q for q in queries.captured_queries
                   if q["sql"].startswith("DELETE") and "queue_app_job" in q["sql"] and "attempt" not in q["sql"]]
    assert len(job_deletes) == 3  # 5 rows in batches of 2
    assert not Job.objects.filter(pk__in=[j.pk for j in old_done]).exists()
    assert not JobAttempt.objects.filter(job_id__in=[j.pk for j in old_done]).exists()
    remaining = set(Job.objects.values_list("pk", flat=True))
    assert remaining == {recent_done.pk, old_dead.pk, old_cancelled.pk, pending.pk, failed.pk}

    assert run("purge", "--status", "dlq,CANCELLED", "--older-than", "1w")[-1] == "Deleted 2 job(s)."
    assert set(Job.objects.values_list("pk", flat=True)) == {recent_done.pk, pending.pk, failed.pk}
    assert run("purge", "--status", "DONE", "--older-than", "7d")[-1] == "Deleted 0 job(s)."


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["PENDING", "RUNNING", "FAILED", "DONE,RUNNING", "LOST"])
def test_purge_refuses_non_terminal_statuses(make_job, status):
    old = clock.now() - timedelta(days=30)
    make_job(status=Status.DONE, created_at=old, finished_at=old, attempts=1)
    make_job(created_at=old)
    with pytest.raises(CommandError, match="Only terminal statuses"):
        run("purge", "--status", status, "--older-than", "1d")
    assert Job.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("age", ["7", "7days", "-1d", "d"])
def test_purge_refuses_a_bad_age(age):
    with pytest.raises(CommandError, match="--older-than"):
        run("purge", "--status", "DONE", "--older-than", age)


@pytest.mark.django_db
def test_purge_keeps_recent_idempotency_keys(make_job, make_user, settings):
    settings.JOBQUEUE_IDEMPOTENCY_RETENTION_HOURS = 24
    owner = make_user()
    old = clock.now() - timedelta(days=10)
    keyed_recent = make_job(status=Status.DONE, owner=owner, idempotency_key="k", created_at=clock.now(),
                            finished_at=old, attempts=1)
    keyed_old = make_job(status=Status.DONE, owner=owner, idempotency_key="k2", created_at=old, finished_at=old,
                         attempts=1)
    assert run("purge", "--status", "DONE", "--older-than", "1d")[-1] == "Deleted 1 job(s)."
    assert set(Job.objects.values_list("pk", flat=True)) == {keyed_recent.pk}
    assert keyed_old.pk not in set(Job.objects.values_list("pk", flat=True))


# --- set_quota -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_set_quota_sets_and_clears_limits(make_user, settings):
    user = make_user()
    lines = run("set_quota", user.username, "--max-active", "5", "--rate-per-minute", "30", "--burst", "10")
    quota = Quota.objects.get(user=user)
    assert (quota.max_active, quota.rate_per_minute, quota.burst) == (5, 30, 10)
    assert "max_active: 5" in lines and "rate_per_minute: 30" in lines
    run("set_quota", user.username, "--max-active", "default")
    quota.refresh_from_db()
    assert quota.max_active is None and quota.rate_per_minute == 30
    assert Quota.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_set_quota_errors(make_user):
    user = make_user()
    with pytest.raises(CommandError, match="No user named"):
        run("set_quota", "nobody-here", "--max-active", "5")
    with pytest.raises(CommandError):
        run("set_quota", user.username, "--max-active", "lots")
    assert not Quota.objects.filter(user=user, max_active__isnull=False).exists()


# --- create_api_key ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_create_api_key_prints_the_key_last_and_stores_only_its_hash(make_user):
    user = make_user()
    lines = run("create_api_key", user.username, "--name", "ci")
    raw = lines[-1]
    key = ApiKey.objects.get(user=user)
    assert raw.startswith(f"jq_{key.prefix}_") and key.name == "ci"
    assert key.hashed_key == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values()]
    assert not any(raw in v or raw.split("_", 2)[2] in v for v in stored)
    assert lookup(raw) == key
    assert lookup(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None


@pytest.mark.django_db
def test_create_api_key_for_a_new_user(make_user):
    raw = run("create_api_key", "fresh-user", "--create-user", "--staff")[-1]
    user = get_user_model().objects.get(username="fresh-user")
    assert user.is_staff and not user.has_usable_password()
    assert lookup(raw).user == user
    with pytest.raises(CommandError, match="--create-user"):
        run("create_api_key", "someone-else")
