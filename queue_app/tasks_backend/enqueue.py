"""Task + arguments -> an ordinary jobqueue job: JSON check, priority mapping and retry budget."""
import math
from collections.abc import Mapping, Sequence
from typing import Any

from queue_app import lifecycle
from queue_app.models import Job
from queue_app.tasks_backend.compat import Task, normalize_json
from queue_app.tasks_backend.errors import InvalidTaskArguments

# The framework's priorities run from -100 to 100, jobqueue's from -1000 to 1000 (higher runs first in
# both): scaling by 10 keeps both ends and the order, and leaves room between for plain jobqueue jobs.
PRIORITY_SCALE = 10


def job_priority(task_priority: int) -> int:
    """The jobqueue priority for a framework priority (-100..100 -> -1000..1000)."""
    return int(task_priority) * PRIORITY_SCALE


def task_priority(priority: int) -> int:
    """The framework priority for a jobqueue priority (rounded, clamped to -100..100)."""
    return max(-100, min(100, round(priority / PRIORITY_SCALE)))


def _kind(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def problem(value: Any, where: str) -> str | None:
    """Why `value` (found at `where`) cannot be stored as JSON, or None when it can."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r}, which JSON cannot represent"
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return f"{where} is bytes that are not UTF-8 text"
    if isinstance(value, str):
        if "\x00" in value:
            return f"{where} contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where} contains an unpaired surrogate"
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                return f"{where} has a key of type {_kind(key)}; JSON object keys are strings"
            found = problem(item, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, Sequence):
        for index, item in enumerate(value):
            found = problem(item, f"{where}[{index}]")
            if found:
                return found
        return None
    return f"{where} is a {_kind(value)}, which is not JSON-serialisable"


def arguments_payload(args: Sequence, kwargs: Mapping) -> dict:
    """The job payload {"args": [...], "kwargs": {...}}, or InvalidTaskArguments naming the bad value."""
    found = problem(list(args), "args") or problem(dict(kwargs), "kwargs")
    if found:
        raise InvalidTaskArguments(f"Task arguments must be JSON-serialisable: {found}.")
    return {"args": normalize_json(list(args)), "kwargs": normalize_json(dict(kwargs))}


def _option(task: Task, options: dict, attr: str, key: str) -> int | None:
    """A per-task setting: the decorator's value, else OPTIONS["PER_TASK"][path], else OPTIONS[key]."""
    value = getattr(task, attr, None)
    if value is None:
        value = (options.get("PER_TASK") or {}).get(task.module_path, {}).get(attr)
    return options.get(key) if value is None else value


def submit(task: Task, args: Sequence, kwargs: Mapping, *, owner, options: dict) -> Job:
    """Create the job for one enqueue, charged to `owner`'s quotas; raises the queue's own errors."""
    payload = arguments_payload(args, kwargs)
    return lifecycle.submit(
        owner, task.module_path, payload, queue=task.queue_name, priority=job_priority(task.priority),
        max_retries=_option(task, options, "max_retries", "MAX_RETRIES"),
        timeout_seconds=_option(task, options, "timeout_seconds", "TIMEOUT_SECONDS"),
        run_at=task.run_after,
    ).job
