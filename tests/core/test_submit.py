"""The submit service: validation, defaults, idempotency keys, all-or-nothing batches."""
import pytest

from queue_app import clock, lifecycle
from queue_app.errors import IdempotencyConflict, ValidationFailed
from queue_app.models import Job, Status
from queue_app.submission import JobSpec
from tests.core.support import later

pytestmark = pytest.mark.django_db


def test_submit_creates_a_pending_job_with_defaults(make_user, settings):
    user = make_user()
    now = clock.now()
    result = lifecycle.submit(user, "demo.echo", {"x": 1}, now=now)
    job = Job.objects.get(pk=result.job.pk)
    assert result.created
    assert (job.status, job.queue, job.priority, job.attempts) == (Status.PENDING, "default", 0, 0)
    assert job.payload == {"x": 1} and job.owner == user
    assert job.max_retries == settings.JOBQUEUE_DEFAULT_MAX_RETRIES
    assert job.timeout_seconds == settings.JOBQUEUE_DEFAULT_TIMEOUT_SECONDS
    assert job.run_at == now and job.created_at == now
    assert job.lease_token is None and job.idempotency_key is None


def test_submit_options_are_stored(make_user):
    now = clock.now()
    job = lifecycle.submit(make_user(), "demo.sleep", {"seconds": 1}, queue="slow", priority=7, max_retries=5,
                           timeout_seconds=9, delay_seconds=30, now=now).job
    job.refresh_from_db()
    assert (job.queue, job.priority, job.max_retries, job.timeout_seconds) == ("slow", 7, 5, 9)
    assert job.run_at == later(30, now)


def test_submit_with_run_at(make_user):
    when = later(120)
    job = lifecycle.submit(make_user(), "demo.echo", run_at=when).job
    assert Job.objects.get(pk=job.pk).run_at == when


def test_unknown_task_is_refused(make_user):
    with pytest.raises(ValidationFailed) as info:
        lifecycle.submit(make_user(), "nope.unknown", {})
    assert info.value.code == "validation_error"
    assert "Unknown task 'nope.unknown'" in info.value.fields["task"][0]
    assert Job.objects.count() == 0


@pytest.mark.parametrize("bad, field", [
    (dict(payload=[1, 2]), "payload"),
    (dict(queue="bad queue!"), "queue"),
    (dict(priority=5000), "priority"),
    (dict(priority=True), "priority"),
    (dict(max_retries=-1), "max_retries"),
    (dict(max_retries=10_000), "max_retries"),
    (dict(timeout_seconds=0), "timeout_seconds"),
    (dict(delay_seconds=-5), "delay_seconds"),
    (dict(delay_seconds=5, run_at="later"), "run_at"),
])
def test_invalid_submissions_are_refused(make_user, bad, field):
    kwargs = {"payload": {}, **bad}
    if isinstance(kwargs.get("run_at"), str):
        kwargs["run_at"] = later(5)
    with pytest.raises(ValidationFailed) as info:
        lifecycle.submit(make_user(), "demo.echo", **kwargs)
    assert field in info.value.fields
    assert Job.objects.count() == 0


def test_idempotent_replay_returns_the_original_job(make_user):
    user = make_user()
    first = lifecycle.submit(user, "demo.echo", {"a": 1}, idempotency_key="order-17")
    again = lifecycle.submit(user, "demo.echo", {"a": 1}, idempotency_key="order-17")
    assert first.created and not again.created
    assert again.job.pk == first.job.pk
    assert Job.objects.count() == 1


def test_idempotency_key_reused_with_another_request_conflicts(make_user):
    user = make_user()
    first = lifecycle.submit(user, "demo.echo", {"a": 1}, idempotency_key="order-17")
    with pytest.raises(IdempotencyConflict) as info:
        lifecycle.submit(user, "demo.echo", {"a": 2}, idempotency_key="order-17")
    assert info.value.code == "conflict" and info.value.status == 409
    assert info.value.details["job_id"] == str(first.job.pk)
    with pytest.raises(IdempotencyConflict):
        lifecycle.submit(user, "demo.echo", {"a": 1}, priority=3, idempotency_key="order-17")
    assert Job.objects.count() == 1


def test_idempotency_keys_are_per_owner(make_user):
    a = lifecycle.submit(make_user(), "demo.echo", {}, idempotency_key="same")
    b = lifecycle.submit(make_user(), "demo.echo", {}, idempotency_key="same")
    assert a.created and b.created and a.job.pk != b.job.pk


def test_replay_returns_the_job_in_its_current_state(make_user):
    user = make_user()
    first = lifecycle.submit(user, "demo.echo", {}, idempotency_key="k")
    claimed = lifecycle.claim("w", None, 1, 30)
    lifecycle.ack(claimed[0], {"ok": True})
    again = lifecycle.submit(user, "demo.echo", {}, idempotency_key="k")
    assert not again.created and again.job.pk == first.job.pk
    assert again.job.status == Status.DONE


def test_submit_many_is_all_or_nothing(make_user):
    user = make_user()
    good = JobSpec(task="demo.echo", payload={"n": 1})
    with pytest.raises(ValidationFailed):
        lifecycle.submit_many(user, [good, JobSpec(task="nope.unknown")])
    assert Job.objects.count() == 0
    jobs = lifecycle.submit_many(user, [JobSpec(task="demo.echo", payload={"n": i}, priority=i) for i in range(3)])
    assert len(jobs) == 3
    assert sorted(Job.objects.values_list("priority", flat=True)) == [0, 1, 2]
    assert set(Job.objects.values_list("status", flat=True)) == {Status.PENDING}
