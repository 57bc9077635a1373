"""Who owns a task enqueued through the backend: the user of the current request when one is known,
else the user named by OPTIONS["OWNER"]. The owner is charged the job against its quotas."""
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured

_current: ContextVar = ContextVar("jobqueue_task_owner", default=None)


@contextmanager
def as_owner(user) -> Iterator[None]:
    """Enqueue every task inside the block as `user` (counted against that user's quotas)."""
    token = _current.set(user)
    try:
        yield
    finally:
        _current.reset(token)


class TaskOwnerMiddleware:
    """Makes the authenticated user of a request the owner of tasks it enqueues (sync views)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        with as_owner(user):
            return self.get_response(request)


def resolve(alias: str, options: dict):
    """The owner for an enqueue: the current user, else OPTIONS["OWNER"] (created on demand if allowed)."""
    user = _current.get()
    if user is not None:
        return user
    username = options.get("OWNER") or ""
    if not username:
        raise ImproperlyConfigured(
            f"TASKS[{alias!r}]['OPTIONS']['OWNER'] must name the user that owns tasks enqueued outside a request.")
    users = get_user_model()
    field = users.USERNAME_FIELD
    if options.get("CREATE_OWNER", True):
        user, _ = users.objects.get_or_create(**{field: username}, defaults={"password": make_password(None)})
        return user
    try:
        return users.objects.get(**{field: username})
    except users.DoesNotExist:
        raise ImproperlyConfigured(
            f"TASKS[{alias!r}]['OPTIONS']['OWNER'] names user {username!r}, which does not exist; create it "
            "(for example in the admin) or set OPTIONS['CREATE_OWNER'] = True.") from None
