"""Real worker processes and real signals: crash recovery, graceful and fast shutdown, the registry row."""
import os
import signal
import time

import pytest

from queue_app import lifecycle
from queue_app.models import Outcome, Status, Worker, WorkerState
from tests import procs
from tests.core.support import fresh, later, outcomes, text_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

POLL = ("--poll-interval", "0.05")


def wait_status(job, status: str, proc: procs.Proc, timeout: float = 30) -> None:
    try:
        procs.wait_until(lambda: fresh(job).status == status, timeout=timeout, message=f"{job.task} {status}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; worker output:\n{proc.output()[-3000:]}") from None


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:  # fields: state, ppid, ...
                kids.append(int(entry))
    return kids


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkilled_worker_loses_no_job(make_job, workers):
    job = make_job(task="demo.sleep", payload={"seconds": 2}, max_retries=3)
    first = workers(*POLL, "--lease-seconds", "2", "--concurrency", "1", "--worker-id", "doomed")
    wait_status(job, Status.RUNNING, first)
    kids = children_of(first.pid)
    assert kids, "the worker runs jobs in a child process"
    os.killpg(first.pid, signal.SIGKILL)  # the whole group: parent and its child
    first.wait(10)
    procs.wait_until(lambda: not any(alive(k) for k in kids), timeout=10, message="child gone")
    assert fresh(job).status == Status.RUNNING  # nobody released it: only lease expiry can

    second = workers(*POLL, "--lease-seconds", "2", "--concurrency", "1", "--worker-id", "rescuer")
    wait_status(job, Status.DONE, second, timeout=40)
    second.signal(signal.SIGTERM)
    assert second.wait(20) == 0
    row = fresh(job)
    assert row.attempts == 2 and row.result == {"slept": 2.0}
    assert outcomes(job) == [Outcome.LEASE_EXPIRED, Outcome.DONE]
    assert list(row.attempt_history.order_by("id").values_list("worker", flat=True)) == ["doomed", "rescuer"]
    events = {e["event"]: e for e in text_events(second.output(), job.id)}
    assert (events["lease_expired"]["attempt"], events["lease_expired"]["worker"]) == ("1", "doomed")
    assert (events["completed"]["attempt"], events["completed"]["worker"]) == ("2", "rescuer")


def test_sigterm_lets_a_short_job_finish(make_job, workers):
    job = make_job(task="demo.sleep", payload={"seconds": 1.5})
    proc = workers(*POLL, "--grace-seconds", "20", "--concurrency", "1")
    wait_status(job, Status.RUNNING, proc)
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.output()[-3000:]
    row = fresh(job)
    assert row.status == Status.DONE and row.attempts == 1
    assert outcomes(job) == [Outcome.DONE]


def test_sigterm_past_the_grace_period_releases_the_job(make_job, workers):
    job = make_job(task="demo.sleep", payload={"seconds": 60}, max_retries=0)
    proc = workers(*POLL, "--grace-seconds", "1", "--concurrency", "1")
    wait_status(job, Status.RUNNING, proc)
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.output()[-3000:]
    assert time.monotonic() - started < 25  # the 1 s grace, not the 60 s job
    row = fresh(job)
    assert row.status == Status.PENDING and row.attempts == 0
    assert (row.lease_token, row.lease_owner, row.lease_expires_at) == (None, None, None)
    assert outcomes(job) == [Outcome.RELEASED]
    assert row.attempt_history.get().number == 1
    assert [e["event"] for e in text_events(proc.output(), job.id)] == ["started", "released"]


def test_second_sigterm_exits_fast(make_job, workers):
    job = make_job(task="demo.sleep", payload={"seconds": 60})
    proc = workers(*POLL, "--grace-seconds", "60", "--concurrency", "1")
    wait_status(job, Status.RUNNING, proc)
    proc.signal(signal.SIGTERM)
    proc.wait_for_output("stopping")
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.output()[-3000:]  # well inside the 60 s grace period
    row = fresh(job)
    assert row.status == Status.PENDING and row.attempts == 0
    assert outcomes(job) == [Outcome.RELEASED]


def test_sigint_is_graceful_too(make_job, workers):
    job = make_job(task="demo.sleep", payload={"seconds": 1})
    proc = workers(*POLL, "--grace-seconds", "20", "--concurrency", "1")
    wait_status(job, Status.RUNNING, proc)
    proc.signal(signal.SIGINT)
    assert proc.wait(30) == 0
    assert fresh(job).status == Status.DONE


def test_registry_row_is_registered_refreshed_and_stopped(workers):
    proc = workers(*POLL, "--lease-seconds", "0.6", "--concurrency", "3", "--queues", "a,b",
                   "--worker-id", "registry-test")
    row = procs.wait_until(lambda: Worker.objects.filter(id="registry-test").first(), message="worker row")
    assert row.state == WorkerState.RUNNING and row.pid == proc.pid
    assert row.queues == ["a", "b"] and row.concurrency == 3
    assert row.hostname and row.stopped_at is None
    first_beat = row.last_heartbeat
    procs.wait_until(lambda: Worker.objects.get(id="registry-test").last_heartbeat > first_beat,
                     timeout=10, message="heartbeat refreshed")
    assert Worker.objects.get(id="registry-test").state == WorkerState.RUNNING
    proc.signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    row = Worker.objects.get(id="registry-test")
    assert row.state == WorkerState.STOPPED and row.stopped_at is not None
    assert row.busy == 0


def test_a_worker_that_lost_its_lease_stops_the_job_and_writes_nothing(make_job, workers):
    """The job was reaped under a live worker (a stall, a clock jump): its heartbeat notices and lets go."""
    job = make_job(task="demo.sleep", payload={"seconds": 60}, max_retries=0)
    proc = workers(*POLL, "--lease-seconds", "1.5", "--concurrency", "1", "--grace-seconds", "30")
    wait_status(job, Status.RUNNING, proc)
    kids = children_of(proc.pid)
    assert lifecycle.reap(now=later(3600)) == 1  # as if the lease had run out
    assert fresh(job).status == Status.DLQ
    proc.wait_for_output("lease lost")
    procs.wait_until(lambda: not any(alive(k) for k in kids), timeout=10, message="the job's child stopped")
    proc.signal(signal.SIGTERM)
    assert proc.wait(20) == 0  # nothing left running to wait for (the grace period is 30 s)
    row = fresh(job)
    assert row.status == Status.DLQ and row.attempts == 1
    assert outcomes(job) == [Outcome.LEASE_EXPIRED]
