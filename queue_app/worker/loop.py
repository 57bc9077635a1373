"""The worker loop: maintain leases -> settle outcomes -> claim -> dispatch -> wait -> gather.

One parent process claims in batches sized to its free slots and settles outcomes in bulk;
forked children run the handlers (see pool.py). Every step is a short named method.
"""
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import wait as wait_for

from django.db import InterfaceError, OperationalError, connections, transaction

from queue_app import clock, lifecycle, tallies
from queue_app.lifecycle import Settlement
from queue_app.models import CLAIMABLE, Job, PausedQueue
from queue_app.worker import presence
from queue_app.worker.listener import Listener
from queue_app.worker.pool import Finished, Pool
from queue_app.worker.signals import StopFlags

log = logging.getLogger("jobqueue.worker")
DB_ERRORS = (OperationalError, InterfaceError)
BURST_LOOKAHEAD = 2.0  # seconds: --burst waits for retries due this soon


@dataclass
class Options:
    queues: list[str] | None = None
    concurrency: int = 2
    lease_seconds: float = 30.0
    poll_interval: float = 0.5
    burst: bool = False
    max_jobs: int | None = None
    grace_seconds: float = 10.0
    worker_id: str | None = None
    autoscale: tuple[int, int] | None = None


class Worker:
    def __init__(self, options: Options, now=clock.now):
        self.o = options
        self.now = now
        self.id = options.worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.pool = Pool(options.autoscale[0] if options.autoscale else options.concurrency)
        self.stop = StopFlags()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.listener = Listener(options.queues)
        self.pending: list[Settlement] = []
        self.claimed_total = 0
        self.counts = {"done": 0, "failed": 0}
        self.drained = False
        self.full_batch = False
        self.idle_wait = options.poll_interval
        self.next_beat = self.next_reap = 0.0
        self.next_fold = time.monotonic() + 10.0
        self.db_backoff = 0.0
        from queue_app.worker.autoscale import Autoscaler

        self.autoscaler = Autoscaler(self, *options.autoscale) if options.autoscale else None

    # --- the loop -------------------------------------------------------------------------
    def run(self) -> int:
        self.stop.install(self.wake_w)
        try:
            self.pool.start()
            presence.register(self.id, self.o.queues, self.pool.capacity, self.now())
            log.info("worker started", extra={"jq": {"event": "worker_started", "worker": self.id,
                                                     "queues": ",".join(self.o.queues or ["*"]),
                                                     "concurrency": self.pool.capacity}})
            while not self.should_exit():
                self.turn()
        except BaseException:
            log.exception("worker loop failed", extra={"jq": {"event": "worker_crashed", "worker": self.id}})
            raise
        finally:
            try:
                self.shutdown()
            finally:
                self.pool.stop_all(kill=True)  # never leave a child behind, whatever failed above
        return 0

    def turn(self) -> None:
        try:
            now = self.now()
            self.maintain(now)
            claimed = self.sync(now)
            self.pool.dispatch(claimed)
            if self.autoscaler:
                self.autoscaler.step(now)
            if self.should_exit():
                return
            self.gather(self.wait())
            self.db_backoff = 0.0
        except DB_ERRORS as exc:
            self.on_database_error(exc)

    def should_exit(self) -> bool:
        if self.stop.graceful.is_set():
            return True
        quiet = not self.pool.busy() and not self.pending
        if self.o.max_jobs is not None and self.claimed_total >= self.o.max_jobs and quiet:
            return True
        return self.o.burst and self.drained and quiet

    # --- steps ----------------------------------------------------------------------------
    def maintain(self, now) -> None:
        """Heartbeat running leases and the registry row; reap expired leases of dead workers."""
        tick = time.monotonic()
        if tick >= self.next_beat:
            self.next_beat = tick + max(0.05, self.o.lease_seconds / 3)
            lost = lifecycle.heartbeat(self.pool.running_jobs(), self.o.lease_seconds, now)
            if lost:
                for job in lost:
                    log.warning("lease lost; stopping the job", extra={"jq": {
                        "event": "lease_lost", "job_id": job.job_id, "task": job.task, "queue": job.queue,
                        "attempt": job.attempt, "worker": self.id}})
                self.pool.abandon(lost)
            presence.beat(self.id, now, busy=len(self.pool.busy()), concurrency=self.pool.capacity,
                          done=self.counts["done"], failed=self.counts["failed"])
            self.counts = {"done": 0, "failed": 0}
        if tick >= self.next_reap:
            self.next_reap = tick + min(5.0, max(0.1, self.o.lease_seconds / 3))
            lifecycle.reap(now)
            if tick >= self.next_fold:
                self.next_fold = tick + 30.0
                tallies.fold(now)

    def sync(self, now) -> list:
        """Settle finished jobs and claim new ones in one transaction (one commit per turn)."""
        batch = self.pending
        try:
            with transaction.atomic():
                self.settle_pending(now)
                return self.claim(now)
        except BaseException:
            for s in batch:
                s.applied = False
            self.pending = batch + [s for s in self.pending if s not in batch]
            raise

    def settle_pending(self, now) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            try:
                lifecycle.settle(batch, now)
            except BaseException:
                self.pending = batch + self.pending  # keep them; the guard makes a retry safe
                raise
            for s in batch:
                if s.applied:
                    self.counts["done" if s.outcome == "done" else "failed"] += 1

    def claim(self, now) -> list:
        limit = self.pool.free()
        if self.o.max_jobs is not None:
            limit = min(limit, self.o.max_jobs - self.claimed_total)
        if limit <= 0:
            self.full_batch = False
            return []
        claimed = lifecycle.claim(self.id, self.o.queues, limit, self.o.lease_seconds, now)
        self.full_batch = len(claimed) == limit
        self.claimed_total += len(claimed)
        self.drained = not claimed and (not self.o.burst or not self.retry_due_soon(now))
        self.idle_wait = self.o.poll_interval if claimed else min(self.idle_wait * 2, self.o.poll_interval * 4)
        return claimed

    def retry_due_soon(self, now) -> bool:
        """--burst keeps going while a job in its queues comes due within BURST_LOOKAHEAD seconds."""
        soon = Job.objects.filter(status__in=CLAIMABLE, run_at__lte=now + timedelta(seconds=BURST_LOOKAHEAD))
        if self.o.queues:
            soon = soon.filter(queue__in=self.o.queues)
        return soon.exclude(queue__in=PausedQueue.objects.values("name")).exists()

    def wait(self) -> list:
        """Sleep until a child reports, a notification or signal arrives, or the next deadline."""
        tick = time.monotonic()
        deadlines = [self.next_beat, self.next_reap] + [s.deadline for s in self.pool.busy()]
        timeout = max(0.0, min(deadlines) - tick)
        if self.pool.free() and not (self.o.max_jobs is not None and self.claimed_total >= self.o.max_jobs):
            # Free slots: a full batch suggests more is ready, so come straight back.
            timeout = min(timeout, 0.0 if self.full_batch else self.idle_wait)
        objects = [*self.pool.wait_conns(), self.wake_r, *self.listener.fds()]
        return wait_for(objects, timeout)

    def gather(self, ready: list) -> None:
        """Turn child reports, timeouts and wake-ups into pending settlements."""
        if self.wake_r in ready:
            try:
                os.read(self.wake_r, 4096)
            except BlockingIOError:
                pass
        if self.listener.drain(ready):
            self.idle_wait = self.o.poll_interval
        finished = self.pool.collect(ready) + self.pool.expire_timeouts(time.monotonic())
        self.pending.extend(self.settlement(f) for f in finished)

    def settlement(self, f: Finished) -> Settlement:
        j = f.job
        return Settlement(j.id, j.lease_token, f.outcome, j.attempt, self.id, j.started_at,
                          result=f.result, error=f.error, traceback=f.traceback, task=j.task, queue=j.queue,
                          due_at=j.run_at)

    def on_database_error(self, exc: Exception) -> None:
        self.db_backoff = min(10.0, max(0.2, self.db_backoff * 2))
        log.warning("database unavailable (%s); retrying in %.1f s", exc.__class__.__name__, self.db_backoff,
                    extra={"jq": {"event": "database_unavailable", "worker": self.id}})
        try:
            connections.close_all()
        except Exception:  # noqa: BLE001 - the connection is already broken
            pass
        self.listener.reset()
        deadline = time.monotonic() + self.db_backoff
        while time.monotonic() < deadline and not self.stop.graceful.is_set():
            self.gather(wait_for([*self.pool.wait_conns(), self.wake_r], max(0.0, deadline - time.monotonic())))

    # --- shutdown -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Let running jobs finish within the grace period, release the rest, mark the worker stopped."""
        deadline = time.monotonic() + self.o.grace_seconds
        if self.pool.busy():
            log.info("stopping: waiting up to %.0f s for %d running job(s)", self.o.grace_seconds,
                     len(self.pool.busy()), extra={"jq": {"event": "worker_stopping", "worker": self.id}})
        while self.pool.busy() and time.monotonic() < deadline and not self.stop.fast.is_set():
            try:
                now = self.now()
                self.maintain(now)
                self.settle_pending(now)
                objects = [*self.pool.wait_conns(), self.wake_r]
                self.gather(wait_for(objects, max(0.0, min(deadline, self.next_beat) - time.monotonic())))
            except DB_ERRORS as exc:
                self.on_database_error(exc)
        leftover = self.pool.running_jobs()
        self.pool.stop_all(kill=True)
        for attempt in range(5):
            try:
                self.settle_pending(self.now())
                if leftover:
                    lifecycle.release(leftover, now=self.now())
                presence.stopped(self.id, self.now())
                break
            except DB_ERRORS as exc:
                log.warning("could not record shutdown (%s); retry %d", exc.__class__.__name__, attempt + 1)
                connections.close_all()
                time.sleep(0.5)
        self.listener.close()
        log.info("worker stopped", extra={"jq": {"event": "worker_stopped", "worker": self.id}})
