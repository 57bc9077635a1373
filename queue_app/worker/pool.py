"""The pool: forked child processes that run jobs one at a time, with deadlines and respawn.

Each slot (child) may hold a short queue of jobs: the head is running, the rest wait in the
pipe. Queue depth adapts to how long jobs take: 1 for slow jobs (no job waits behind another),
up to MAX_DEPTH for jobs of a few milliseconds, so one claim/settle transaction covers many jobs.
"""
import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field

from django.db import connections

from queue_app.lifecycle import Claimed
from queue_app.worker.child import child_main

_fork = multiprocessing.get_context("fork")
MAX_DEPTH = 16
FAST_JOB_SECONDS = 0.005  # below this average run time, slots take a deeper queue


@dataclass
class Slot:
    process: multiprocessing.process.BaseProcess
    conn: object
    jobs: deque = field(default_factory=deque)  # jobs[0] is running; the rest wait in the pipe
    head_started: float = 0.0
    retiring: bool = False

    @property
    def job(self) -> Claimed | None:
        return self.jobs[0] if self.jobs else None

    @property
    def deadline(self) -> float:
        return self.head_started + self.jobs[0].timeout_seconds if self.jobs else float("inf")


@dataclass
class Finished:
    """What a slot reported (or how it died) for its job."""

    job: Claimed
    ok: bool
    result: object = None
    error: str = ""
    traceback: str = ""
    outcome: str = "failed"


class Pool:
    def __init__(self, size: int):
        self.slots: list[Slot] = []
        self.target = size
        self.avg_run = 1.0  # seconds; start cautious (depth 1) until jobs prove fast

    # --- processes ------------------------------------------------------------------------
    def _spawn(self) -> Slot:
        # Forked children must not share the parent's database sockets: close them first
        # (the parent reconnects on its next query).
        connections.close_all()
        parent, child = _fork.Pipe(duplex=True)
        # Not daemonic: multiprocessing would SIGTERM daemonic children at exit, which they ignore.
        process = _fork.Process(target=child_main, args=(child, os.getpid()), daemon=False)
        process.start()
        child.close()
        return Slot(process=process, conn=parent)

    def start(self) -> None:
        while len([s for s in self.slots if not s.retiring]) < self.target:
            self.slots.append(self._spawn())

    def resize(self, size: int) -> None:
        """Grow at once; shrink by retiring idle slots (busy ones retire when their jobs end)."""
        self.target = size
        self.start()
        extra = len([s for s in self.slots if not s.retiring]) - size
        for slot in sorted(self.slots, key=lambda s: len(s.jobs)):
            if extra <= 0:
                break
            if not slot.retiring:
                slot.retiring = True
                extra -= 1
        self._retire_idle()

    def _retire_idle(self) -> None:
        for slot in [s for s in self.slots if s.retiring and not s.jobs]:
            self._stop(slot, kill=False)
            self.slots.remove(slot)

    def _stop(self, slot: Slot, kill: bool) -> None:
        try:
            if kill:
                os.kill(slot.process.pid, signal.SIGKILL)
            else:
                slot.conn.send(None)
        except (OSError, ValueError):
            pass
        slot.process.join(timeout=0.05 if kill else 1)
        if slot.process.is_alive():
            try:
                os.kill(slot.process.pid, signal.SIGKILL)
            except OSError:
                pass
            slot.process.join(timeout=1)
        slot.conn.close()

    def _replace(self, slot: Slot, requeue: list[Claimed]) -> None:
        """Kill a slot's child and fork a fresh one; `requeue` (not yet started) goes to the new child."""
        self._stop(slot, kill=True)
        index = self.slots.index(slot)
        if slot.retiring and not requeue:
            self.slots.pop(index)
            return
        fresh = self._spawn()
        fresh.retiring = slot.retiring
        self.slots[index] = fresh
        self._send(fresh, requeue)

    # --- jobs -----------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return len([s for s in self.slots if not s.retiring])

    @property
    def depth(self) -> int:
        return MAX_DEPTH if self.avg_run < FAST_JOB_SECONDS else (4 if self.avg_run < 0.02 else 1)

    def free(self) -> int:
        depth = self.depth
        return sum(max(0, depth - len(s.jobs)) for s in self.slots if not s.retiring)

    def busy(self) -> list[Slot]:
        return [s for s in self.slots if s.jobs]

    def running_jobs(self) -> list[Claimed]:
        """Every job this pool holds a lease for (running or queued in a child's pipe)."""
        return [job for s in self.slots for job in s.jobs]

    @staticmethod
    def _message(job: Claimed) -> dict:
        return {"id": job.job_id, "task": job.task, "payload": job.payload, "attempt": job.attempt,
                "token": job.lease_token, "queue": job.queue}

    def _send(self, slot: Slot, jobs: list[Claimed]) -> None:
        """Queue `jobs` on a slot in one pipe write (the child runs them in order)."""
        if not jobs:
            return
        if not slot.jobs:
            slot.head_started = time.monotonic()
        slot.jobs.extend(jobs)
        try:
            slot.conn.send([self._message(job) for job in jobs])
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the child died; its EOF is read by collect(), which fails the head and requeues the rest

    def dispatch(self, jobs: list[Claimed]) -> None:
        depth = self.depth
        batches: dict[int, list[Claimed]] = {}
        fill = {id(s): len(s.jobs) for s in self.slots}
        for job in jobs:
            slot = min((s for s in self.slots if not s.retiring and fill[id(s)] < depth),
                       key=lambda s: fill[id(s)], default=None)
            if slot is None:  # capacity shrank since the claim: queue it anyway
                slot = min((s for s in self.slots if not s.retiring), key=lambda s: fill[id(s)])
            fill[id(slot)] += 1
            batches.setdefault(id(slot), []).append(job)
        for slot in list(self.slots):
            self._send(slot, batches.get(id(slot), []))

    def wait_conns(self) -> list:
        return [s.conn for s in self.slots if s.jobs]

    def collect(self, ready: list) -> list[Finished]:
        """Read every outcome available on readable pipes (a result, or EOF if the child died)."""
        finished = []
        for slot in [s for s in self.slots if s.jobs and s.conn in ready]:
            while slot.jobs and slot.conn.poll():
                try:
                    msg = slot.conn.recv()
                except (EOFError, OSError):
                    finished.append(self._died(slot))
                    break
                job = slot.jobs.popleft()
                slot.head_started = time.monotonic()
                self.avg_run = 0.8 * self.avg_run + 0.2 * max(0.0, msg[-1] - msg[-2])
                if msg[1] == "ok":
                    finished.append(Finished(job, True, result=msg[2], outcome="done"))
                else:
                    finished.append(Finished(job, False, error=msg[2], traceback=msg[3]))
        self._retire_idle()
        return finished

    def _died(self, slot: Slot) -> Finished:
        job, rest = slot.jobs[0], list(slot.jobs)[1:]
        slot.process.join(timeout=1)
        code = slot.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        slot.jobs.clear()
        self._replace(slot, rest)
        return Finished(job, False, error=f"The worker process running the job died ({how}).")

    def expire_timeouts(self, monotonic_now: float) -> list[Finished]:
        """Kill the children whose running job passed timeout_seconds; those attempts fail with `timeout`."""
        finished = []
        for slot in [s for s in self.slots if s.jobs and s.deadline <= monotonic_now]:
            job, rest = slot.jobs[0], list(slot.jobs)[1:]
            slot.jobs.clear()
            finished.append(Finished(job, False, outcome="timeout", error=f"Timed out after {job.timeout_seconds} s."))
            self._replace(slot, rest)
        self._retire_idle()
        return finished

    def abandon(self, jobs: list[Claimed]) -> None:
        """Stop running `jobs` (their lease was lost): restart their children, keep the others."""
        ids = {j.job_id for j in jobs}
        for slot in [s for s in self.slots if any(j.job_id in ids for j in s.jobs)]:
            keep = [j for j in slot.jobs if j.job_id not in ids]
            slot.jobs.clear()
            self._replace(slot, keep)

    def stop_all(self, kill: bool) -> None:
        for slot in list(self.slots):
            self._stop(slot, kill=kill)
        self.slots.clear()
