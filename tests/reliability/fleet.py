"""A fleet of real `runworker` processes for chaos runs: start, find children, SIGKILL, restart."""
import os
import random
import signal
import sys
import time
from pathlib import Path

from django.contrib.auth import get_user_model

from queue_app import lifecycle
from queue_app.models import TERMINAL, Job, Quota
from queue_app.submission import JobSpec
from tests import procs
from tests.reliability import chaos_tasks  # noqa: F401  (registers chaos.* here too, for submit)
from tests.reliability.ledger import Kill

CHAOS_MODULE = "tests.reliability.chaos_tasks"


def chaos_env(ledger_dir: Path, **overrides) -> dict:
    """The environment of a worker that can run chaos.* tasks and writes its ledger to `ledger_dir`."""
    values = dict(JOBQUEUE_EXTRA_TASK_MODULES=CHAOS_MODULE, JOBQUEUE_CHAOS_LEDGER=str(ledger_dir),
                  JOBQUEUE_LOG_LEVEL="WARNING")
    values.update(overrides)
    return procs.env(**values)


def unlimited_user(username: str):
    """A user whose quotas never refuse a chaos submission."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    big = 10**9
    Quota.objects.update_or_create(user=user, defaults=dict(rate_per_minute=big, burst=big, max_active=big,
                                                           max_retries_cap=50))
    return user


def submit_sleeps(user, n: int, *, queue: str, low: float, high: float, max_retries: int, rng: random.Random,
                  batch: int = 500) -> list:
    """Submit `n` chaos.sleep jobs with random durations; returns their ids."""
    ids = []
    for start in range(0, n, batch):
        specs = [JobSpec(task="chaos.sleep", payload={"seconds": round(rng.uniform(low, high), 3)}, queue=queue,
                         max_retries=max_retries, timeout_seconds=60) for _ in range(min(batch, n - start))]
        ids += [job.pk for job in lifecycle.submit_many(user, specs)]
    return ids


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from the parent field of every /proc/<pid>/stat (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found.append(int(stat.parent.name))
    return found


def unfinished(ids: list) -> int:
    n = 0
    for chunk in range(0, len(ids), 500):
        n += Job.objects.filter(pk__in=ids[chunk:chunk + 500]).exclude(status__in=TERMINAL).count()
    return n


class Fleet:
    """`size` runworker processes with the same arguments; a killed parent is restarted at once."""

    def __init__(self, size: int, args: list[str], environ: dict, log_dir: Path):
        self.args, self.environ, self.log_dir = args, environ, log_dir
        self.started = 0
        self.born: dict[int, float] = {}
        self.procs: list[procs.Proc] = [self._start() for _ in range(size)]
        self.retired: list[procs.Proc] = []
        self.kills: list[Kill] = []

    def _start(self) -> procs.Proc:
        self.started += 1
        proc = procs.Proc([sys.executable, "manage.py", "runworker", *self.args],
                          self.log_dir / f"worker-{self.started}.log", self.environ)
        self.born[proc.pid] = time.monotonic()
        return proc

    def kill_random(self, rng: random.Random) -> Kill | None:
        """SIGKILL a random worker's parent or one of its children; restart a killed parent."""
        # Half the kills hit a job-running child (when one exists), half a worker parent.
        with_kids = [(i, children(p.pid)) for i, p in enumerate(self.procs)]
        with_kids = [(i, kids) for i, kids in with_kids if kids]
        if with_kids and rng.random() < 0.5:
            index, kids = rng.choice(with_kids)
            pid, kind = rng.choice(kids), "child"
        else:
            # Prefer workers that had time to start and take jobs (a worker restarts in a second or two).
            settled = [i for i, p in enumerate(self.procs) if time.monotonic() - self.born[p.pid] > 3] \
                or list(range(len(self.procs)))
            index = rng.choice(settled)
            pid, kind = self.procs[index].pid, "parent"
        proc = self.procs[index]
        kill = Kill(time.time(), pid, kind)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        self.kills.append(kill)
        if kind == "parent":
            proc.wait(timeout=10)
            self.retired.append(proc)
            self.procs[index] = self._start()
        return kill

    def terminate(self, timeout: float = 30) -> None:
        """SIGTERM every worker (graceful) and wait; SIGKILL whatever is left."""
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:
                pass
        self.close()

    def close(self) -> None:
        for proc in self.procs + self.retired:
            proc.stop()

    def logs(self) -> str:
        return "".join(p.log.read_text(errors="replace") for p in self.procs + self.retired)
