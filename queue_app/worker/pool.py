"""The pool: forked child processes, one job each at a time, with deadlines and respawn."""
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass

from django.db import connections

from queue_app.lifecycle import Claimed
from queue_app.worker.child import child_main

_fork = multiprocessing.get_context("fork")


@dataclass
class Slot:
    process: multiprocessing.process.BaseProcess
    conn: object
    job: Claimed | None = None
    deadline: float = 0.0
    retiring: bool = False


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
        while len(self.slots) < self.target:
            self.slots.append(self._spawn())

    def resize(self, size: int) -> None:
        """Grow at once; shrink by retiring idle slots (busy ones retire when their job ends)."""
        self.target = size
        self.start()
        extra = len([s for s in self.slots if not s.retiring]) - size
        for slot in sorted(self.slots, key=lambda s: s.job is not None):
            if extra <= 0:
                break
            if not slot.retiring:
                slot.retiring = True
                extra -= 1
        self._retire_idle()

    def _retire_idle(self) -> None:
        for slot in [s for s in self.slots if s.retiring and s.job is None]:
            self._stop(slot, kill=False)
            self.slots.remove(slot)

    def _stop(self, slot: Slot, kill: bool) -> None:
        try:
            if kill:
                os.kill(slot.process.pid, signal.SIGKILL)
            else:
                slot.conn.send(None)
        except (OSError, BrokenPipeError, ValueError):
            pass
        slot.process.join(timeout=0 if kill else 1)
        if slot.process.is_alive():
            os.kill(slot.process.pid, signal.SIGKILL)
            slot.process.join(timeout=1)
        slot.conn.close()

    def _replace(self, slot: Slot) -> None:
        self._stop(slot, kill=True)
        index = self.slots.index(slot)
        if slot.retiring:
            self.slots.pop(index)
        else:
            self.slots[index] = self._spawn()

    # --- jobs -----------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return len([s for s in self.slots if not s.retiring])

    def free(self) -> int:
        return len([s for s in self.slots if s.job is None and not s.retiring])

    def busy(self) -> list[Slot]:
        return [s for s in self.slots if s.job is not None]

    def running_jobs(self) -> list[Claimed]:
        return [s.job for s in self.slots if s.job is not None]

    def dispatch(self, jobs: list[Claimed]) -> None:
        idle = [s for s in self.slots if s.job is None and not s.retiring]
        for slot, job in zip(idle, jobs, strict=False):
            slot.job, slot.deadline = job, time.monotonic() + job.timeout_seconds
            slot.conn.send({"id": job.job_id, "task": job.task, "payload": job.payload, "attempt": job.attempt,
                            "token": job.lease_token, "queue": job.queue})

    def wait_conns(self) -> list:
        return [s.conn for s in self.slots if s.job is not None]

    def collect(self, ready: list) -> list[Finished]:
        """Read the outcome of every slot whose pipe is readable (a result, or EOF if it died)."""
        finished = []
        for slot in [s for s in self.slots if s.job is not None and s.conn in ready]:
            job = slot.job
            try:
                msg = slot.conn.recv()
            except (EOFError, OSError):
                code = slot.process.exitcode
                slot.process.join(timeout=1)
                code = slot.process.exitcode if code is None else code
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                finished.append(Finished(job, False, error=f"The worker process running the job died ({how})."))
                slot.job = None
                self._replace(slot)
                continue
            slot.job = None
            if msg[1] == "ok":
                finished.append(Finished(job, True, result=msg[2], outcome="done"))
            else:
                finished.append(Finished(job, False, error=msg[2], traceback=msg[3]))
        self._retire_idle()
        return finished

    def expire_timeouts(self, monotonic_now: float) -> list[Finished]:
        """Kill the children whose job ran past timeout_seconds; their attempts fail with `timeout`."""
        finished = []
        for slot in [s for s in self.slots if s.job is not None and s.deadline <= monotonic_now]:
            job, slot.job = slot.job, None
            finished.append(Finished(job, False, outcome="timeout",
                                     error=f"Timed out after {job.timeout_seconds} s."))
            self._replace(slot)
        self._retire_idle()
        return finished

    def abandon(self, jobs: list[Claimed]) -> None:
        """Stop running `jobs` (their lease was lost): kill their children, drop their outcome."""
        ids = {j.job_id for j in jobs}
        for slot in [s for s in self.slots if s.job is not None and s.job.job_id in ids]:
            slot.job = None
            self._replace(slot)

    def stop_all(self, kill: bool) -> None:
        for slot in list(self.slots):
            self._stop(slot, kill=kill)
        self.slots.clear()
