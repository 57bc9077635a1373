"""Pausing queues: a paused queue accepts submissions, but workers claim nothing from it."""
from django.db import transaction

from queue_app import clock, wakeup
from queue_app.logs import event
from queue_app.models import PausedQueue


def pause(name: str, by: str = "") -> bool:
    """Pause `name`; False when it was already paused."""
    with transaction.atomic():
        _, created = PausedQueue.objects.get_or_create(name=name, defaults={"paused_at": clock.now(),
                                                                           "paused_by": by})
    if created:
        event("queue_paused", queue=name, worker=by or None)
    return created


def resume(name: str, by: str = "") -> bool:
    """Resume `name`; False when it was not paused."""
    with transaction.atomic():
        deleted, _ = PausedQueue.objects.filter(name=name).delete()
        if deleted:
            wakeup.notify([name])
    if deleted:
        event("queue_resumed", queue=name, worker=by or None)
    return bool(deleted)


def paused() -> list[str]:
    return list(PausedQueue.objects.order_by("name").values_list("name", flat=True))
