"""The worker's registry row: registered at start, refreshed by heartbeats, marked stopped at exit."""
import os
import socket
from datetime import datetime

from django.db import transaction
from django.db.models import F

from queue_app.models import Worker, WorkerState


def register(worker_id: str, queues: list[str] | None, concurrency: int, now: datetime) -> Worker:
    with transaction.atomic():
        worker, _ = Worker.objects.update_or_create(id=worker_id, defaults=dict(
            hostname=socket.gethostname(), pid=os.getpid(), queues=queues or [], concurrency=concurrency,
            started_at=now, last_heartbeat=now, stopped_at=None, state=WorkerState.RUNNING,
            jobs_done=0, jobs_failed=0, busy=0))
    return worker


def beat(worker_id: str, now: datetime, *, busy: int, concurrency: int, done: int, failed: int,
         state: str = WorkerState.RUNNING) -> None:
    with transaction.atomic():
        Worker.objects.filter(id=worker_id).update(
            last_heartbeat=now, busy=busy, concurrency=concurrency, state=state,
            jobs_done=F("jobs_done") + done, jobs_failed=F("jobs_failed") + failed)


def stopped(worker_id: str, now: datetime) -> None:
    with transaction.atomic():
        Worker.objects.filter(id=worker_id).update(state=WorkerState.STOPPED, stopped_at=now, last_heartbeat=now,
                                                   busy=0)
