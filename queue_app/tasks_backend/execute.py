"""The worker side: runs one framework task inside the child process that holds the job's lease.

task_started and task_finished are sent here, in the process that runs the function, with the
TaskResult as of this attempt (status RUNNING, then SUCCESSFUL or FAILED for this attempt; whether a
failure is retried is decided afterwards, when the worker settles the attempt).
"""
import json
import traceback as tb
from typing import Any

from queue_app import clock
from queue_app.models import Job
from queue_app.registry import JobContext
from queue_app.tasks_backend import resolver, results
from queue_app.tasks_backend.compat import (
    Task,
    TaskContext,
    TaskError,
    TaskResultStatus,
    normalize_json,
    task_backends,
    task_finished,
    task_started,
)
from queue_app.tasks_backend.errors import AttemptFailed


def _alias(task) -> str:
    aliases = resolver.jobqueue_aliases()
    return task.backend if task.backend in aliases or not aliases else aliases[0]


def _set(result, **fields) -> None:
    for name, value in fields.items():
        object.__setattr__(result, name, value)


def run_job(task: Task, payload: dict, ctx: JobContext) -> Any:
    """Run `task` (found by the resolver) with the job's args and kwargs; return its JSON result."""
    if not isinstance(payload.get("args", []), list) or not isinstance(payload.get("kwargs", {}), dict):
        raise AttemptFailed('The payload must be {"args": [...], "kwargs": {...}}.')
    alias = _alias(task)
    sender = type(task_backends[alias])
    job = Job.objects.get(pk=ctx.job_id)
    result = results.build(job, list(job.attempt_history.all()), results.task_for(task, job, alias), alias)
    task_started.send(sender=sender, task_result=result)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
        else:
            value = task.call(*result.args, **result.kwargs)
        value = normalize_json(value)
        json.dumps(value, allow_nan=False)
    except BaseException as exc:  # noqa: BLE001 - reported, then re-raised for the worker to record
        kind = type(exc)
        result.errors.append(TaskError(exception_class_path=f"{kind.__module__}.{kind.__qualname__}",
                                       traceback=tb.format_exc()))
        _set(result, status=TaskResultStatus.FAILED, finished_at=clock.now())
        task_finished.send(sender=sender, task_result=result)
        raise
    _set(result, status=TaskResultStatus.SUCCESSFUL, finished_at=clock.now(), _return_value=value)
    task_finished.send(sender=sender, task_result=result)
    return value
