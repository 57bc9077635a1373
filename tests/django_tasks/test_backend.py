"""The backend in-process: enqueue mapping, argument checks, owners, quotas, and the status mapping
driven through the real lifecycle (claim / fail / ack / cancel) against the test database."""
import math
import sys
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import override_settings
from django_tasks import TaskResultStatus, default_task_backend, task_backends
from django_tasks.exceptions import InvalidTaskError, TaskResultDoesNotExist
from django_tasks.signals import task_enqueued

from queue_app import clock, lifecycle, registry
from queue_app.backends import JobQueueBackend
from queue_app.errors import QuotaExceeded
from queue_app.models import Job, Quota, Status
from queue_app.tasks_backend.enqueue import job_priority, task_priority
from queue_app.tasks_backend.errors import InvalidTaskArguments, WorkerLost
from queue_app.tasks_backend.owner import TaskOwnerMiddleware, as_owner
from tests.django_tasks import tasks

pytestmark = pytest.mark.django_db

OPTIONS = {"OWNER": "tasks", "CREATE_OWNER": True, "MAX_RETRIES": None, "TIMEOUT_SECONDS": None, "MODULES": [],
           "PER_TASK": {}}


def tasks_setting(**options):
    return {"default": {"BACKEND": "queue_app.backends.JobQueueBackend", "QUEUES": [],
                        "OPTIONS": {**OPTIONS, **options}}}


def test_default_backend_is_jobqueue():
    assert isinstance(task_backends["default"], JobQueueBackend)
    assert type(tasks.add).__name__ == "JobQueueTask"


def test_enqueue_creates_an_ordinary_job_and_sends_task_enqueued():
    seen = []

    def on_enqueued(sender, task_result, **kwargs):
        seen.append((sender, task_result.id, task_result.status))

    task_enqueued.connect(on_enqueued)
    try:
        result = tasks.add.enqueue(2, b=3)
    finally:
        task_enqueued.disconnect(on_enqueued)
    job = Job.objects.get(pk=result.id)
    assert job.task == "tests.django_tasks.tasks.add"
    assert job.payload == {"args": [2], "kwargs": {"b": 3}}
    assert (job.queue, job.priority, job.status) == ("default", 0, Status.PENDING)
    assert job.owner.username == "tasks" and not job.owner.has_usable_password()
    assert seen == [(JobQueueBackend, result.id, TaskResultStatus.READY)]
    assert result.status == TaskResultStatus.READY and not result.is_finished
    assert result.enqueued_at == job.created_at and result.args == [2] and result.kwargs == {"b": 3}
    assert result.errors == [] and result.worker_ids == [] and result.backend == "default"
    with pytest.raises(ValueError, match="not finished"):
        result.return_value


def test_queue_priority_and_run_after_map_onto_the_job():
    when = clock.now() + timedelta(hours=1)
    result = tasks.async_add.using(run_after=when, priority=-7).enqueue(1, 2)
    job = Job.objects.get(pk=result.id)
    assert (job.queue, job.priority, job.run_at) == ("tasks-high", -70, when)
    fetched = default_task_backend.get_result(result.id)
    assert fetched.task.priority == -7 and fetched.task.queue_name == "tasks-high"
    assert fetched.task.func is tasks.async_add.func
    assert tasks.async_add.enqueue(1, 2).task.priority == 5
    assert Job.objects.get(pk=tasks.async_add.enqueue(1, 2).id).priority == 50


def test_priority_mapping_keeps_both_ends_and_the_order():
    assert [job_priority(p) for p in (-100, -1, 0, 1, 100)] == [-1000, -10, 0, 10, 1000]
    assert [task_priority(p) for p in (-1000, -10, 0, 10, 1000, 1004, 5000)] == [-100, -1, 0, 1, 100, 100, 100]


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((object(),), {}, r"args\[0\] is a object, which is not JSON-serialisable"),
    ((), {"when": clock.now()}, r"kwargs\['when'\] is a datetime.datetime"),
    (([1, {"x": math.nan}],), {}, r"args\[0\]\[1\]\['x'\] is nan"),
    ((), {"s": "a\x00b"}, r"kwargs\['s'\] contains a NUL character"),
    (({1, 2},), {}, r"args\[0\] is a set"),
])
def test_arguments_must_be_json(args, kwargs, message):
    with pytest.raises(InvalidTaskArguments, match=message) as caught:
        tasks.add.enqueue(*args, **kwargs)
    assert isinstance(caught.value, TypeError)
    assert not Job.objects.exists()


def test_tuples_and_bytes_are_normalised_like_the_framework_does():
    result = tasks.add.enqueue((1, 2), b"text")
    assert Job.objects.get(pk=result.id).payload == {"args": [[1, 2], "text"], "kwargs": {}}


def test_max_retries_from_options_and_per_task_override(settings):
    assert Job.objects.get(pk=tasks.add.enqueue(1, 1).id).max_retries == settings.JOBQUEUE_DEFAULT_MAX_RETRIES
    assert Job.objects.get(pk=tasks.always_fails.enqueue("x").id).max_retries == 2
    with override_settings(TASKS=tasks_setting(MAX_RETRIES=7, TIMEOUT_SECONDS=42)):
        job = Job.objects.get(pk=task_backends["default"].enqueue(tasks.add, [1, 1], {}).id)
        assert (job.max_retries, job.timeout_seconds) == (7, 42)
        job = Job.objects.get(pk=task_backends["default"].enqueue(tasks.always_fails, ["x"], {}).id)
        assert job.max_retries == 2
    per_task = {"tests.django_tasks.tasks.add": {"max_retries": 0, "timeout_seconds": 5},
                "tests.django_tasks.tasks.always_fails": {"max_retries": 9}}
    with override_settings(TASKS=tasks_setting(MAX_RETRIES=7, PER_TASK=per_task)):
        job = Job.objects.get(pk=task_backends["default"].enqueue(tasks.add, [1, 1], {}).id)
        assert (job.max_retries, job.timeout_seconds) == (0, 5)
        job = Job.objects.get(pk=task_backends["default"].enqueue(tasks.always_fails, ["x"], {}).id)
        assert job.max_retries == 2  # the decorator's value wins


def test_invalid_tasks_are_refused():
    with pytest.raises(InvalidTaskError, match="max_retries"):
        tasks.add.get_backend().task_class(func=tasks.add.func, max_retries=-1)
    with pytest.raises(InvalidTaskError, match="aware"):
        tasks.add.using(run_after=clock.now().replace(tzinfo=None))
    with override_settings(TASKS={"default": {**tasks_setting()["default"], "QUEUES": ["default"]}}):
        with pytest.raises(InvalidTaskError, match="Queue 'tasks-high' is not valid"):
            task_backends["default"].validate_task(tasks.async_add)


def test_owner_from_context_is_charged_quota(make_user):
    user = make_user("alice")
    with as_owner(user):
        result = tasks.add.enqueue(1, 2)
    assert Job.objects.get(pk=result.id).owner == user
    Quota.objects.update_or_create(user=user, defaults={"max_active": 1})
    with as_owner(user), pytest.raises(QuotaExceeded):
        tasks.add.enqueue(1, 2)
    assert Job.objects.filter(owner=user).count() == 1


def test_missing_owner_is_refused_when_creation_is_off():
    with override_settings(TASKS=tasks_setting(OWNER="nobody-here", CREATE_OWNER=False)):
        with pytest.raises(ImproperlyConfigured, match="'nobody-here', which does not exist"):
            task_backends["default"].enqueue(tasks.add, [1, 2], {})
    assert not get_user_model().objects.filter(username="nobody-here").exists()
    assert not Job.objects.exists()


def test_system_check_reports_bad_options():
    backend = JobQueueBackend("x", {"OPTIONS": {"OWNER": "", "RETRIES": 3}})
    ids = {message.id for message in backend.check()}
    assert ids == {"jobqueue.E101", "jobqueue.E102"}


def test_get_result_of_unknown_ids_and_plain_jobs(make_job):
    backend = default_task_backend
    for bad in ("not-a-uuid", "0190a8c4-0000-7000-8000-000000000000"):
        with pytest.raises(TaskResultDoesNotExist):
            backend.get_result(bad)
    plain = make_job(task="demo.echo")
    with pytest.raises(TaskResultDoesNotExist):
        backend.get_result(str(plain.id))


def test_resolver_imports_only_allowed_modules(settings):
    spec = registry.get("tests.django_tasks.tasks.flaky")
    assert spec is not None and spec.takes_context and spec.description.startswith("Fail the first")
    assert registry.get("os.path.join") is None  # importable, but not a task
    assert registry.get("tests.django_tasks.tasks.nope") is None
    assert registry.get("tests.django_tasks.not_imported.hidden") is None
    assert "tests.django_tasks.not_imported" not in sys.modules
    settings.TASKS = tasks_setting(MODULES=["tests.django_tasks.not_imported"])
    try:
        assert registry.get("tests.django_tasks.not_imported.hidden") is not None
    finally:
        sys.modules.pop("tests.django_tasks.not_imported", None)


def test_middleware_makes_the_request_user_the_owner(make_user, rf):
    user = make_user("bob")

    def view(request):
        return HttpResponse(tasks.add.enqueue(1, 2).id)

    request = rf.get("/")
    request.user = user
    job_id = TaskOwnerMiddleware(view)(request).content.decode()
    assert Job.objects.get(pk=job_id).owner == user
    request.user = AnonymousUser()
    job_id = TaskOwnerMiddleware(view)(request).content.decode()
    assert Job.objects.get(pk=job_id).owner.username == "tasks"


def _claim(worker: str, now):
    claimed = lifecycle.claim(worker, None, 1, 30.0, now=now)
    assert len(claimed) == 1
    return claimed[0]


def test_status_mapping_through_retries_to_the_dlq():
    result = tasks.always_fails.enqueue("boom")  # max_retries=2: three attempts
    now = clock.now()
    states = []
    for number, worker in enumerate(["w1", "w2", "w3"], start=1):
        now += timedelta(seconds=400)  # past any backoff
        claimed = _claim(worker, now)
        result.refresh()
        assert result.status == TaskResultStatus.RUNNING
        assert result.worker_ids == ["w1", "w2", "w3"][:number] and result.attempts == number
        assert result.last_attempted_at == now
        lifecycle.fail(claimed, "builtins.ValueError: boom", "Traceback ...\nValueError: boom\n", now=now)
        result.refresh()
        states.append((result.status, len(result.errors)))
    assert states == [(TaskResultStatus.READY, 1), (TaskResultStatus.READY, 2), (TaskResultStatus.FAILED, 3)]
    assert Job.objects.get(pk=result.id).status == Status.DLQ
    assert result.is_finished and result.finished_at == now
    assert {e.exception_class_path for e in result.errors} == {"builtins.ValueError"}
    assert result.errors[0].exception_class is ValueError and "ValueError: boom" in result.errors[0].traceback
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value
    lifecycle.redrive(Job.objects.get(pk=result.id))
    result.refresh()
    assert result.status == TaskResultStatus.READY and len(result.errors) == 3


def test_done_timeout_lease_loss_and_cancel_map_as_documented():
    result = tasks.add.enqueue(1, 2)
    now = clock.now()
    claimed = _claim("w1", now)
    lifecycle.fail(claimed, "Timed out after 300 s.", outcome="timeout", now=now)
    claimed = _claim("w2", now + timedelta(seconds=400))
    lifecycle.fail(claimed, "The lease expired.", outcome="lease_expired", now=now + timedelta(seconds=400))
    claimed = _claim("w3", now + timedelta(seconds=800))
    lifecycle.ack(claimed, {"sum": 3}, now=now + timedelta(seconds=801))
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == {"sum": 3}
    assert [e.exception_class_path for e in result.errors] == [
        "builtins.TimeoutError", f"{WorkerLost.__module__}.WorkerLost"]
    assert result.errors[1].traceback == "The lease expired."
    assert result.started_at == now and result.finished_at == now + timedelta(seconds=801)
    cancelled = tasks.add.enqueue(3, 4)
    lifecycle.cancel(Job.objects.get(pk=cancelled.id))
    cancelled.refresh()
    assert cancelled.status == TaskResultStatus.FAILED and cancelled.errors == []


def test_aget_result_and_aenqueue():
    result = async_to_sync(tasks.add.aenqueue)(5, 6)
    fetched = async_to_sync(tasks.add.aget_result)(result.id)
    assert fetched.id == result.id and fetched.status == TaskResultStatus.READY
    assert fetched.args == [5, 6]


def test_tasks_are_ordinary_jobs_in_the_api(make_user_with_key, client):
    user, key = make_user_with_key("carol")
    with as_owner(user):
        result = tasks.add.enqueue(1, 2)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = client.get(f"/api/jobs/{result.id}/", **auth).json()
    assert body["task"] == "tests.django_tasks.tasks.add" and body["payload"] == {"args": [1, 2], "kwargs": {}}
    # The API accepts the module path as a task name too; get_result reads that job back.
    created = client.post("/api/jobs/", {"task": "tests.django_tasks.tasks.add", "payload": {"args": [3, 4]}},
                          content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    fetched = tasks.add.get_result(created.json()["id"])
    assert fetched.args == [3, 4] and fetched.status == TaskResultStatus.READY
