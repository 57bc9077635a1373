"""`runworker --autoscale MIN,MAX`: grow and shrink the worker's pool of job slots from local signals.

The rule (docs/operations.md):
    demand = busy slots + eligible backlog in the worker's queues (queue_app.scaling, counted up
             to MAX, queried at most every JOBQUEUE_AUTOSCALE_CHECK_SECONDS and reduced by the
             jobs this worker claimed since)
    grow   at once to min(MAX, demand) when demand exceeds the pool;
    shrink to max(MIN, the peak demand of the last JOBQUEUE_AUTOSCALE_WINDOW_SECONDS), and only when
           the pool has not changed for that long either.
The window is the hysteresis and the cool-down in one: a burst keeps its slots for a whole window
after it ends, so a queue that empties and refills every few seconds never makes the pool flap.
Shrinking retires idle slots only (a busy slot never retires while its job runs), so no job is
interrupted.
"""
import logging
import time
from collections import deque
from datetime import datetime

from django.conf import settings

from queue_app import scaling

log = logging.getLogger("jobqueue.worker")


class ScaleRule:
    """The decision alone (no processes, no database): feed it (tick, demand, size), get a size."""

    def __init__(self, minimum: int, maximum: int, window: float, start: float):
        self.minimum, self.maximum, self.window = minimum, maximum, window
        self.history: deque[tuple[float, int]] = deque()
        self.last_change = start

    def clamp(self, n: int) -> int:
        return max(self.minimum, min(self.maximum, n))

    def target(self, tick: float, demand: int, size: int) -> int:
        self.history.append((tick, demand))
        while self.history and self.history[0][0] < tick - self.window:
            self.history.popleft()
        want = self.clamp(demand)
        if want > size:
            self.last_change = tick
            return want
        peak = self.clamp(max(d for _, d in self.history))
        if peak < size and tick - self.last_change >= self.window:
            self.last_change = tick
            return peak
        return self.clamp(size)


class Autoscaler:
    def __init__(self, worker, minimum: int, maximum: int, *, window: float | None = None,
                 check_every: float | None = None):
        self.worker = worker
        self.rule = ScaleRule(minimum, maximum, settings.JOBQUEUE_AUTOSCALE_WINDOW_SECONDS if window is None
                              else window, time.monotonic())
        self.check_every = settings.JOBQUEUE_AUTOSCALE_CHECK_SECONDS if check_every is None else check_every
        self.next_check = 0.0
        self.backlog = 0
        self.claimed_at_check = 0

    def demand(self, now: datetime, tick: float) -> int:
        """Busy slots plus the eligible backlog (cached between checks, minus what we claimed since)."""
        w = self.worker
        if tick >= self.next_check:
            self.next_check = tick + self.check_every
            self.backlog = scaling.eligible_backlog(w.o.queues, now, limit=self.rule.maximum)
            self.claimed_at_check = w.claimed_total
        backlog = max(0, self.backlog - (w.claimed_total - self.claimed_at_check))
        return len(w.pool.busy()) + backlog

    def step(self, now: datetime) -> None:
        """Called every loop turn: resize the pool when the rule says so."""
        tick = time.monotonic()
        pool = self.worker.pool
        demand = self.demand(now, tick)
        size = pool.capacity
        target = self.rule.target(tick, demand, size)
        if target != size:
            log.info("autoscale: %d -> %d slots (demand %d)", size, target, demand, extra={"jq": {
                "event": "autoscaled", "worker": self.worker.id, "slots_from": size, "slots_to": target,
                "demand": demand}})
            pool.resize(target)
