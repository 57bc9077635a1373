"""Lets the registry find `@task` functions by module path, so runworker runs them like any task.

Task names come from clients (the API accepts them too), so a name is imported only when its module
is already loaded, belongs to an installed app, or sits under a prefix listed in OPTIONS["MODULES"]
of a JobQueueBackend: a name can never make a process import an arbitrary module.
"""
import logging
import re
import sys
from functools import partial

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import import_string

from queue_app import registry
from queue_app.registry import TaskSpec

logger = logging.getLogger("jobqueue.tasks")

_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
BACKEND_PATH = "queue_app.backends.JobQueueBackend"


def jobqueue_aliases() -> list[str]:
    """The TASKS aliases served by JobQueueBackend (or a subclass), in settings order."""
    from queue_app.backends import JobQueueBackend

    found = []
    for alias, params in (getattr(settings, "TASKS", None) or {}).items():
        path = params.get("BACKEND", "")
        try:
            ours = path == BACKEND_PATH or issubclass(import_string(path), JobQueueBackend)
        except (ImportError, TypeError):
            ours = False
        if ours:
            found.append(alias)
    return found


def _prefixes() -> list[str]:
    prefixes = [config.name for config in apps.get_app_configs()]
    tasks = getattr(settings, "TASKS", None) or {}
    for alias in jobqueue_aliases():
        prefixes.extend(tasks[alias].get("OPTIONS", {}).get("MODULES", []))
    return prefixes


def importable(module: str) -> bool:
    """May this module be imported to look a task up?"""
    if module in sys.modules:
        return True
    return any(module == p or module.startswith(p + ".") for p in _prefixes())


def load_task(name: str):
    """The framework Task at module path `name`, or None if there is none (or it may not be imported)."""
    from queue_app.tasks_backend.compat import Task

    if len(name) > 200 or not _NAME.match(name):
        return None
    if not importable(name.rpartition(".")[0]):
        return None
    try:
        found = import_string(name)
    except ImportError:
        return None
    except Exception:  # noqa: BLE001 - a module that fails to import must not break submission
        logger.exception("importing task %s failed", name)
        return None
    return found if isinstance(found, Task) else None


def resolve(name: str) -> TaskSpec | None:
    """The registry resolver: a TaskSpec that runs the framework task `name` (see execute.py)."""
    from queue_app.tasks_backend.execute import run_job

    found = load_task(name)
    if found is None:
        return None
    doc = (found.func.__doc__ or "").strip().splitlines()
    return TaskSpec(name=name, func=partial(run_job, found), description=doc[0] if doc else "", takes_context=True)


registry.add_resolver(resolve)
