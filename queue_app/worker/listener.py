"""PostgreSQL LISTEN for per-queue wake-ups; a no-op elsewhere (polling is always the fallback)."""
import logging

from django.db import connection

from queue_app.wakeup import channel

log = logging.getLogger("jobqueue.worker")


class Listener:
    def __init__(self, queues: list[str] | None):
        self.queues = queues
        self.conn = None
        self.failed_at = 0.0

    def _connect(self) -> None:
        if connection.vendor != "postgresql" or self.conn is not None:
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
