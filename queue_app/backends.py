"""JobQueueBackend: runs Django `@task` functions (django.tasks / the django-tasks backport) on jobqueue.

    TASKS = {"default": {"BACKEND": "queue_app.backends.JobQueueBackend", "OPTIONS": {"OWNER": "tasks"}}}

Each enqueue creates an ordinary job (task = the function's module path, payload = {"args", "kwargs"}),
so it gets leases, retries, quotas, the DLQ and the dashboard. See docs/django-tasks.md.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core import checks
from django.core.exceptions import ValidationError

from queue_app.models import Job
from queue_app.tasks_backend import enqueue as enqueuing
from queue_app.tasks_backend import owner, resolver, results
from queue_app.tasks_backend.compat import (
    BaseTaskBackend,
    InvalidTaskError,
    Task,
    TaskResult,
    TaskResultDoesNotExist,
    task_enqueued,
)

OPTION_KEYS = {"OWNER", "CREATE_OWNER", "MAX_RETRIES", "TIMEOUT_SECONDS", "MODULES", "PER_TASK"}


@dataclass(frozen=True, slots=True, kw_only=True)
class JobQueueTask(Task):
    """A Task with jobqueue's per-task overrides: `@task(max_retries=5, timeout_seconds=60)`.

    (The backport's decorator passes extra keywords to the backend's task class; Django 6's does not,
    so there use OPTIONS["PER_TASK"].)
    """

    max_retries: int | None = None
    timeout_seconds: int | None = None


class JobQueueBackend(BaseTaskBackend):
    """Stores each enqueued task as a jobqueue job; `manage.py runworker` executes it."""

    task_class = JobQueueTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def validate_task(self, task: Task) -> None:
        super().validate_task(task)
        if len(task.module_path) > 200:
            raise InvalidTaskError("The task's module path is longer than 200 characters.")
        for attr in ("max_retries", "timeout_seconds"):
            value = getattr(task, attr, None)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidTaskError(f"{attr} must be a whole number of at least 0.")

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Create the job (validated, quota-checked) and send task_enqueued."""
        self.validate_task(task)
        job = enqueuing.submit(task, args, kwargs, owner=owner.resolve(self.alias, self.options),
                               options=self.options)
        result = results.build(job, [], results.task_for(task, job, self.alias), self.alias)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        """The TaskResult of job `result_id` (a framework task's job), or TaskResultDoesNotExist."""
        try:
            job = Job.objects.get(pk=result_id)
        except (Job.DoesNotExist, ValidationError, ValueError, TypeError):
            raise TaskResultDoesNotExist(result_id) from None
        task = resolver.load_task(job.task)
        if task is None:
            raise TaskResultDoesNotExist(result_id)
        return results.build(job, list(job.attempt_history.all()), results.task_for(task, job, self.alias),
                             self.alias)

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        yield from super().check(**kwargs)
        unknown = sorted(set(self.options) - OPTION_KEYS)
        if unknown:
            yield checks.Error(f"TASKS[{self.alias!r}]['OPTIONS'] has unknown keys: {', '.join(unknown)}.",
                               hint=f"Known keys: {', '.join(sorted(OPTION_KEYS))}.", id="jobqueue.E101")
        if not self.options.get("OWNER"):
            yield checks.Error(f"TASKS[{self.alias!r}]['OPTIONS']['OWNER'] is not set.",
                               hint="Name the user that owns tasks enqueued outside a request.",
                               id="jobqueue.E102")
