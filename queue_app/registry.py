"""Task registration: handlers are registered by name and looked up by workers and submitters."""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobContext:
    """What a handler learns about its run; pass `fencing_token` downstream as an idempotency key."""

    job_id: str
    attempt: int
    fencing_token: str
    queue: str
    task: str


@dataclass(frozen=True)
class TaskSpec:
    name: str
    func: Callable[..., Any]
    description: str
    takes_context: bool


_TASKS: dict[str, TaskSpec] = {}
# Resolvers find tasks that are not registered here (e.g. django-tasks @task functions by path).
_RESOLVERS: list[Callable[[str], TaskSpec | None]] = []


def task(name: str, *, description: str = "", takes_context: bool = False):
    """Register a handler: `@task("emails.send")` then `def send(payload, ctx=None): ...`."""

    def decorate(func):
        doc = description or (func.__doc__ or "").strip().splitlines()[0:1]
        text = doc if isinstance(doc, str) else (doc[0] if doc else "")
        _TASKS[name] = TaskSpec(name=name, func=func, description=text, takes_context=takes_context)
        return func

    return decorate


def add_resolver(resolver: Callable[[str], TaskSpec | None]) -> None:
    if resolver not in _RESOLVERS:
        _RESOLVERS.append(resolver)


def get(name: str) -> TaskSpec | None:
    spec = _TASKS.get(name)
    if spec is None:
        for resolver in _RESOLVERS:
            spec = resolver(name)
            if spec is not None:
                break
    return spec


def is_registered(name: str) -> bool:
    return get(name) is not None


def registered() -> list[TaskSpec]:
    """The named tasks, sorted by name (resolver-found tasks are not listed)."""
    return [_TASKS[n] for n in sorted(_TASKS)]
