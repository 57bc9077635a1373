"""A job and its attempt rows -> the framework's TaskResult.

Status mapping (docs/django-tasks.md):

    PENDING    -> READY       waiting for run_at (deferred) or a free worker
    RUNNING    -> RUNNING
    DONE       -> SUCCESSFUL  return_value is the job's result
    FAILED     -> READY       an attempt failed and a retry is scheduled; errors holds each failure
    DLQ        -> FAILED      retries exhausted; a redrive makes it READY again
    CANCELLED  -> FAILED      cancelled before it ran
"""
import re

from queue_app.models import Job, JobAttempt, Outcome, Status
from queue_app.tasks_backend.compat import InvalidTaskError, Task, TaskError, TaskResult, TaskResultStatus
from queue_app.tasks_backend.enqueue import task_priority
from queue_app.tasks_backend.errors import AttemptFailed, WorkerLost

STATUS = {
    Status.PENDING: TaskResultStatus.READY,
    Status.RUNNING: TaskResultStatus.RUNNING,
    Status.DONE: TaskResultStatus.SUCCESSFUL,
    Status.FAILED: TaskResultStatus.READY,
    Status.DLQ: TaskResultStatus.FAILED,
    Status.CANCELLED: TaskResultStatus.FAILED,
}

# The worker records a failed attempt's error as "module.Class: message".
_ERROR_CLASS = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+): ")
# What the pool records when the process running the job died (queue_app/worker/pool.py).
_DIED = "The worker process running the job died"


def _path(exc_class: type) -> str:
    return f"{exc_class.__module__}.{exc_class.__qualname__}"


def task_error(attempt: JobAttempt) -> TaskError:
    """The TaskError for one failed attempt: the exception's class path and the traceback."""
    if attempt.outcome == Outcome.TIMEOUT:
        path = "builtins.TimeoutError"
    elif attempt.outcome == Outcome.LEASE_EXPIRED or attempt.error.startswith(_DIED):
        path = _path(WorkerLost)
    else:
        match = _ERROR_CLASS.match(attempt.error)
        path = match.group(1) if match else _path(AttemptFailed)
    return TaskError(exception_class_path=path, traceback=attempt.traceback or attempt.error)


def task_for(task: Task, job: Job, alias: str) -> Task:
    """The Task as this job was enqueued: its queue, priority and backend alias."""
    try:
        return task.using(priority=task_priority(job.priority), queue_name=job.queue, backend=alias)
    except InvalidTaskError:
        # The job came in another way (e.g. the API) with a queue this backend does not list.
        return task


def build(job: Job, attempts: list[JobAttempt], task: Task, alias: str) -> TaskResult:
    """The TaskResult for `job`, given its attempt rows in order."""
    counted = [a for a in attempts if a.outcome != Outcome.RELEASED]
    worker_ids = [a.worker for a in counted]
    starts = [a.started_at for a in counted if a.started_at]
    if job.status == Status.RUNNING:
        worker_ids.append(job.lease_owner or "")
        if job.started_at:
            starts.append(job.started_at)
    payload = job.payload if isinstance(job.payload, dict) else {}
    result = TaskResult(
        task=task, id=str(job.id), status=STATUS[job.status], enqueued_at=job.created_at,
        started_at=min(starts) if starts else None, last_attempted_at=max(starts) if starts else None,
        finished_at=job.finished_at if job.status in (Status.DONE, Status.DLQ, Status.CANCELLED) else None,
        args=payload.get("args", []), kwargs=payload.get("kwargs", {}), backend=alias,
        errors=[task_error(a) for a in counted if a.outcome != Outcome.DONE], worker_ids=worker_ids,
    )
    if job.status == Status.DONE:
        object.__setattr__(result, "_return_value", job.result)
    return result
