"""Wake idle workers when work arrives. Polling is always the fallback; these only cut latency.

PostgreSQL: NOTIFY per queue inside the submit transaction (delivered at commit).
SQLite: after commit, a datagram to each local worker's unix socket (workers share the host).
"""
import hashlib
import os
import socket
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

CHANNEL_PREFIX = "jobqueue_"


def channel(queue: str) -> str:
    """The LISTEN/NOTIFY channel of a queue ('jobqueue_all' wakes workers of every queue)."""
    return CHANNEL_PREFIX + "".join(c if c.isalnum() or c == "_" else "_" for c in queue)[:50]


def socket_dir() -> Path:
    """Where local workers of this SQLite database bind their wake-up sockets."""
    digest = hashlib.sha1(str(connection.settings_dict["NAME"]).encode(), usedforsecurity=False).hexdigest()[:12]
    return Path(settings.VAR_DIR) / "wake" / digest


def notify(queues: list[str]) -> None:
    """Call inside the transaction that made work ready; workers hear of it once it commits."""
    if not queues:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for queue in queues:
                cursor.execute("SELECT pg_notify(%s, %s)", [channel(queue), queue])
            cursor.execute("SELECT pg_notify(%s, %s)", [channel("all"), ",".join(queues)])
    elif connection.vendor == "sqlite":
        transaction.on_commit(lambda: poke_local(socket_dir()))


def poke_local(directory: Path) -> None:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for name in names:
            path = directory / name
            try:
                sock.sendto(b"!", str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                path.unlink(missing_ok=True)  # a worker that died without cleaning up
            except (BlockingIOError, OSError):
                pass  # its buffer is full: it is awake already
