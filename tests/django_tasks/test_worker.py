"""Framework tasks run by real `runworker` subprocesses; results are read back through get_result."""
import json
import os
from datetime import timedelta

import pytest
from django_tasks import TaskResultStatus

from queue_app import clock, lifecycle
from queue_app.models import Job, Status
from tests import procs
from tests.django_tasks import tasks

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "tasks-worker-1"


def worker_env(signal_log) -> dict:
    return procs.env(JQ_TASKS_SIGNAL_LOG=signal_log, JOBQUEUE_TASKS_MODULES="tests.django_tasks.tasks")


def signals(path) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh]


def run_burst(workers, signal_log, *extra: str) -> None:
    proc = workers("--burst", "--concurrency", "2", "--worker-id", WORKER, "--poll-interval", "0.1", *extra,
                   env=worker_env(signal_log))
    assert proc.wait(timeout=90) == 0, proc.output()[-3000:]


def test_sync_async_and_context_tasks_run_on_runworker(workers, tmp_path, make_user):
    log = tmp_path / "signals.jsonl"
    plain = tasks.add.enqueue(2, b=3)
    coro = tasks.async_add.enqueue(4, 5)
    ctx = tasks.with_context.enqueue("sync")
    actx = tasks.async_with_context.enqueue(label="async")
    bad_return = tasks.returns_a_set.enqueue()
    echo = lifecycle.submit(make_user(), "demo.echo", {"hello": "world"}).job  # a plain jobqueue task alongside
    run_burst(workers, log)
    assert Job.objects.get(pk=echo.id).status == Status.DONE

    for result in (plain, coro, ctx, actx):
        result.refresh()
        assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
        assert result.worker_ids == [WORKER] and result.errors == []
        assert result.enqueued_at <= result.started_at == result.last_attempted_at <= result.finished_at
    assert plain.return_value["sum"] == 5 and coro.return_value["sum"] == 9
    value = tasks.with_context.get_result(ctx.id).return_value
    assert value["label"] == "sync" and value["attempt"] == 1 and value["id"] == ctx.id
    assert value["worker_ids"] == [WORKER] and value["status"] == "RUNNING"
    assert tasks.async_with_context.get_result(actx.id).return_value["attempt"] == 1

    bad_return.refresh()
    assert bad_return.status == TaskResultStatus.FAILED
    assert bad_return.errors[0].exception_class_path == "builtins.TypeError"
    assert "Unsupported type" in bad_return.errors[-1].traceback

    # task_started / task_finished came from the process that ran each function, not this one.
    lines = signals(log)
    for result in (plain, coro, ctx, actx):
        mine = [line for line in lines if line["id"] == result.id]
        assert [(m["signal"], m["status"]) for m in mine] == [("started", "RUNNING"), ("finished", "SUCCESSFUL")]
        assert {m["pid"] for m in mine} == {result.return_value["pid"]} != {os.getpid()}
    job = Job.objects.get(pk=plain.id)
    assert job.task == "tests.django_tasks.tasks.add" and job.result["sum"] == 5


def test_failing_tasks_retry_and_their_errors_grow(workers, tmp_path):
    log = tmp_path / "signals.jsonl"
    flaky = tasks.flaky.enqueue(2)  # fails twice, succeeds on attempt 3 (default budget: 3 retries)
    doomed = tasks.always_fails.enqueue("no luck")  # per-task max_retries=2: three attempts, then the DLQ
    run_burst(workers, log)

    flaky.refresh()
    assert flaky.status == TaskResultStatus.SUCCESSFUL and flaky.return_value == 3
    assert flaky.worker_ids == [WORKER] * 3 and flaky.attempts == 3
    assert [e.exception_class_path for e in flaky.errors] == ["builtins.RuntimeError"] * 2
    assert "attempt 1 fails" in flaky.errors[0].traceback and "attempt 2 fails" in flaky.errors[1].traceback

    doomed.refresh()
    assert Job.objects.get(pk=doomed.id).status == Status.DLQ
    assert doomed.status == TaskResultStatus.FAILED and doomed.is_finished
    assert len(doomed.errors) == 3 and doomed.errors[-1].exception_class is ValueError
    assert "ValueError: no luck" in doomed.errors[-1].traceback
    with pytest.raises(ValueError, match="Task failed"):
        doomed.return_value

    finished = [line for line in signals(log) if line["id"] == doomed.id and line["signal"] == "finished"]
    assert [(f["status"], f["attempt"], f["errors"]) for f in finished] == [
        ("FAILED", 1, 1), ("FAILED", 2, 2), ("FAILED", 3, 3)]


def test_deferred_task_waits_for_run_after(workers, tmp_path):
    log = tmp_path / "signals.jsonl"
    proc = workers("--concurrency", "1", "--worker-id", WORKER, "--poll-interval", "0.1", env=worker_env(log))
    run_after = clock.now() + timedelta(seconds=2.5)
    deferred = tasks.add.using(run_after=run_after).enqueue(1, 1)
    now_task = tasks.add.enqueue(2, 2)

    procs.wait_until(lambda: tasks.add.get_result(now_task.id).is_finished, timeout=30, message="the ready task")
    deferred.refresh()
    if clock.now() < run_after:
        assert deferred.status == TaskResultStatus.READY, "a deferred task ran before run_after"
    procs.wait_until(lambda: tasks.add.get_result(deferred.id).is_finished, timeout=30,
                     message=f"the deferred task\n{proc.output()[-2000:]}")
    deferred.refresh()
    assert deferred.status == TaskResultStatus.SUCCESSFUL and deferred.return_value["sum"] == 2
    assert deferred.started_at >= run_after


def test_a_job_submitted_with_a_bad_payload_fails_clearly(workers, tmp_path, make_user):
    job = lifecycle.submit(make_user(), "tests.django_tasks.tasks.add", {"args": "12"}, max_retries=0).job
    run_burst(workers, tmp_path / "signals.jsonl")
    result = tasks.add.get_result(str(job.id))
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "queue_app.tasks_backend.errors.AttemptFailed"
    assert '"args": [...]' in result.errors[0].traceback
