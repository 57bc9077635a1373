"""Wake-up listener: PostgreSQL LISTEN per queue, or a unix datagram socket for local SQLite workers."""
import logging
import os
import socket

from django.db import connection

from queue_app.wakeup import channel, socket_dir

log = logging.getLogger("jobqueue.worker")


class LocalListener:
    """SQLite: workers on this host bind a socket that submitters poke after commit."""

    def __init__(self) -> None:
        self.sock = None
        self.path = None

    def fds(self) -> list[int]:
        if self.sock is None:
            try:
                directory = socket_dir()
                directory.mkdir(parents=True, exist_ok=True)
                self.path = directory / f"{os.getpid()}.sock"
                self.path.unlink(missing_ok=True)
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self.sock.setblocking(False)
                self.sock.bind(str(self.path))
            except OSError as exc:
                log.warning("local wake-ups unavailable (%s); polling only", exc)
                self.close()
                return []
        return [self.sock.fileno()]

    def drain(self, ready: list) -> bool:
        if self.sock is None or self.sock.fileno() not in ready:
            return False
        try:
            while self.sock.recv(64):
                pass
        except BlockingIOError:
            pass
        return True

    def reset(self) -> None:
        return None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def Listener(queues: list[str] | None):  # noqa: N802 - a factory standing in for the class
    """The wake-up listener for the configured database."""
    return PgListener(queues) if connection.vendor == "postgresql" else LocalListener()


class PgListener:
    def __init__(self, queues: list[str] | None):
        self.queues = queues
        self.conn = None
        self.failed_at = 0.0

    def _connect(self) -> None:
        if self.conn is not None:
            return
        import time

        import psycopg

        if time.monotonic() - self.failed_at < 5:
            return
        try:
            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            self.conn = psycopg.connect(**params, autocommit=True)
            names = [channel(q) for q in self.queues] if self.queues else [channel("all")]
            for name in names:
                self.conn.execute(f'LISTEN "{name}"')
        except Exception as exc:  # noqa: BLE001 - wake-ups are an optimisation; polling continues
            log.warning("LISTEN unavailable (%s); polling only", exc.__class__.__name__)
            self.failed_at = time.monotonic()
            self.reset()

    def fds(self) -> list[int]:
        self._connect()
        return [self.conn.fileno()] if self.conn is not None else []

    def drain(self, ready: list) -> bool:
        """Consume pending notifications; True when any arrived."""
        if self.conn is None or self.conn.fileno() not in ready:
            return False
        try:
            got = False
            for _ in self.conn.notifies(timeout=0, stop_after=1000):
                got = True
            return got
        except Exception:  # noqa: BLE001
            self.reset()
            return False

    def reset(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
        self.conn = None

    def close(self) -> None:
        self.reset()
