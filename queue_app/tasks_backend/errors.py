"""Exceptions the backend raises, or names in a TaskError when an attempt ended without one."""


class InvalidTaskArguments(TypeError):
    """Task arguments that cannot be stored as JSON (raised by enqueue, like the framework's TypeError)."""


class WorkerLost(Exception):  # noqa: N818 - named for what happened, as it appears in TaskResult.errors
    """The attempt ended without an exception from the task: its lease expired or its process died."""


class AttemptFailed(Exception):  # noqa: N818
    """The attempt failed before the task could raise (for example, its module could not be imported)."""
