"""Wake idle workers when work arrives: PostgreSQL NOTIFY per queue (polling stays the fallback)."""
from django.db import connection

CHANNEL_PREFIX = "jobqueue_"


def channel(queue: str) -> str:
    """The LISTEN/NOTIFY channel of a queue ('jobqueue_all' wakes workers of every queue)."""
    return CHANNEL_PREFIX + "".join(c if c.isalnum() or c == "_" else "_" for c in queue)[:50]


def notify(queues: list[str]) -> None:
    """Inside the submit transaction: PostgreSQL delivers the notification at commit."""
    if connection.vendor != "postgresql" or not queues:
        return
    with connection.cursor() as cursor:
        for queue in queues:
            cursor.execute("SELECT pg_notify(%s, %s)", [channel(queue), queue])
            cursor.execute("SELECT pg_notify(%s, %s)", [channel("all"), queue])
