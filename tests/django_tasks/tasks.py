"""Module-level framework tasks the tests enqueue; runworker imports this module by path.

Receivers below record task_started / task_finished to the file named by JQ_TASKS_SIGNAL_LOG, so a
test can see which process sent them (the worker child that ran the function)."""
import asyncio
import json
import os

from django.dispatch import receiver
from django_tasks import task
from django_tasks.signals import task_finished, task_started


@task
def add(a, b):
    """Add two numbers."""
    return {"sum": a + b, "pid": os.getpid()}


@task(priority=5, queue_name="tasks-high")
async def async_add(a, b):
    await asyncio.sleep(0)
    return {"sum": a + b, "pid": os.getpid()}


@task(takes_context=True)
def with_context(context, label):
    result = context.task_result
    return {"label": label, "attempt": context.attempt, "id": result.id, "worker_ids": result.worker_ids,
            "status": result.status, "pid": os.getpid()}


@task(takes_context=True)
async def async_with_context(context, label="async"):
    await asyncio.sleep(0)
    return {"label": label, "attempt": context.attempt, "id": context.task_result.id, "pid": os.getpid()}


@task(takes_context=True)
def flaky(context, fail_times):
    """Fail the first `fail_times` attempts, then return the attempt number."""
    if context.attempt <= fail_times:
        raise RuntimeError(f"attempt {context.attempt} fails")
    return context.attempt


@task(max_retries=2)
def always_fails(message):
    raise ValueError(message)


@task
def returns_a_set():
    return {1, 2}


def _record(name: str, task_result) -> None:
    path = os.environ.get("JQ_TASKS_SIGNAL_LOG")
    if not path:
        return
    line = {"signal": name, "id": task_result.id, "status": str(task_result.status), "pid": os.getpid(),
            "attempt": task_result.attempts, "errors": len(task_result.errors),
            "task": task_result.task.module_path}
    with open(path, "a") as fh:
        fh.write(json.dumps(line) + "\n")


@receiver(task_started)
def record_started(sender, task_result, **kwargs):
    _record("started", task_result)


@receiver(task_finished)
def record_finished(sender, task_result, **kwargs):
    _record("finished", task_result)
