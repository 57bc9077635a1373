"""2. Fencing under pauses: a worker frozen (SIGSTOP) past its lease can write nothing once resumed.

Worker A (tests/reliability/fence_client.py, a real process) claims a job and keeps heartbeating;
the test freezes it at a random moment, waits past its lease, and worker B reaps, reclaims and acks
the job; then A is resumed (SIGCONT) and heartbeats and acks: the database must refuse both, keep
B's result, and show attempts = 2. 100 repetitions in 4 parallel lanes with random timing.

A second test freezes a real `runworker` the same way: once resumed it must drop the job.
"""
import fcntl
import json
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection

from queue_app import clock, lifecycle
from queue_app.models import Job, Status
from tests import procs
from tests.reliability.fleet import unlimited_user

LANES, REPS, LEASE = 4, 25, 0.5


def _lines(log) -> list[dict]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def _wait_line(proc: procs.Proc, key: str, job_id: str, timeout: float = 30) -> dict:
    def found():
        return next((x for x in _lines(proc.log) if x.get(key) == job_id), None)

    try:
        return procs.wait_until(found, timeout=timeout, interval=0.01, message=f"{key} {job_id}")
    except AssertionError:
        raise AssertionError(f"{key} {job_id} not seen; A said:\n{proc.output()[-3000:]}") from None


def _freeze(proc: procs.Proc, lock_path) -> None:
    """SIGSTOP A between two of its database writes (it holds the lock during each one)."""
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        proc.signal(signal.SIGSTOP)
        fcntl.flock(fh, fcntl.LOCK_UN)


def _reap_and_claim(worker: str, queue: str) -> list:
    lifecycle.reap()
    return lifecycle.claim(worker, [queue], 1, 30)


def _lane(index: int, user, tmp_path, seed: int, results: list, errors: list) -> None:
    rng = random.Random(seed + index)
    queue = f"fence-{uuid.uuid4().hex[:8]}-{index}"
    lock = tmp_path / f"lane{index}.lock"
    lock.touch()
    proc = procs.Proc([sys.executable, "-m", "tests.reliability.fence_client", queue, str(REPS), str(LEASE),
                       str(lock)], tmp_path / f"lane{index}.log", procs.env())
    try:
        for _ in range(REPS):
            job = lifecycle.submit(user, "demo.echo", {"seconds": round(rng.uniform(0.7, 1.1), 3)}, queue=queue,
                                   max_retries=3).job
            _wait_line(proc, "claimed", str(job.pk))
            time.sleep(rng.uniform(0, LEASE / 2))
            _freeze(proc, lock)
            # None: A was slow and its lease had already expired and been reaped (by any lane) before the freeze.
            expires = Job.objects.get(pk=job.pk).lease_expires_at
            margin = rng.uniform(0.01, 0.3)
            while expires is not None and clock.now() <= expires + timedelta(seconds=margin):
                time.sleep(0.01)
            # B polls like a worker: another lane's reaper may hold this row for a moment (SKIP LOCKED).
            b = procs.wait_until(lambda: _reap_and_claim(f"B-{index}", queue), timeout=10, interval=0.02,
                                 message="B to reclaim")
            b_at = time.time()
            assert [c.id for c in b] == [job.pk], f"B could not reclaim {job.pk}: {b}"
            lifecycle.ack(b[0], {"by": "B"})
            proc.signal(signal.SIGCONT)
            report = _wait_line(proc, "report", str(job.pk))
            job.refresh_from_db()
            results.append(dict(job=str(job.pk), status=job.status, attempts=job.attempts, result=job.result,
                                writes=report["writes"], b_at=b_at))
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)
    finally:
        try:
            proc.signal(signal.SIGCONT)
        except ProcessLookupError:
            pass
        proc.stop()
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_frozen_worker_cannot_heartbeat_or_ack_after_its_lease_was_taken_over(tmp_path, settings):
    settings.JOBQUEUE_BACKOFF_BASE_SECONDS = 0  # B may reclaim the reaped job at once
    user = unlimited_user("fencing")
    seed = random.randrange(2**32)
    results, errors = [], []
    threads = [threading.Thread(target=_lane, args=(i, user, tmp_path, seed, results, errors)) for i in range(LANES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, f"seed {seed}: {errors[0]!r}"
    assert len(results) == LANES * REPS
    stale_accepted = sum(1 for r in results for kind, ok, at in r["writes"] if ok and at > r["b_at"])
    print(f"fencing: {len(results)} repetitions, stale writes accepted: {stale_accepted}, seed {seed}")
    assert stale_accepted == 0
    for r in results:
        after = [(kind, ok) for kind, ok, at in r["writes"] if at > r["b_at"]]
        assert ("heartbeat", False) in after and after[-1] == ("ack", False), r
        assert r["status"] == Status.DONE and r["result"] == {"by": "B"} and r["attempts"] == 2, r


def _lost(proc: procs.Proc) -> int:
    out = proc.output()
    return out.count("lease lost") + out.count("stale_lease")


def _freeze_outside_a_write(proc) -> None:
    """SIGSTOP the worker's process group, but not while it holds SQLite's write lock.

    A process frozen inside a write transaction stalls every other writer of the file until it
    resumes (docs/reliability.md, test 2); that is SQLite's locking, not the lease protocol under
    test, so on SQLite retry the freeze until the file is writable by others.
    """
    for _ in range(200):
        os.killpg(proc.pid, signal.SIGSTOP)
        if connection.vendor != "sqlite":
            return
        probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0.05)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            os.killpg(proc.pid, signal.SIGCONT)
            time.sleep(random.uniform(0.005, 0.03))
        finally:
            probe.close()
    raise AssertionError("the worker never left its write transaction")


@pytest.mark.django_db(transaction=True)
def test_a_frozen_runworker_drops_the_job_it_lost_when_resumed(tmp_path, workers, settings):
    """The real worker: frozen past its lease while running a job, reclaimed by B, then resumed."""
    from tests.reliability.fleet import chaos_env

    settings.JOBQUEUE_BACKOFF_BASE_SECONDS = 0
    user = unlimited_user("fencing-rw")
    queue = f"fence-rw-{uuid.uuid4().hex[:8]}"
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    a = workers("--queues", queue, "--concurrency", "1", "--lease-seconds", "0.6", "--poll-interval", "0.05",
                env=chaos_env(ledger, JOBQUEUE_LOG_LEVEL="INFO"), name="A")
    for rep in range(3):
        job = lifecycle.submit(user, "chaos.sleep", {"seconds": 1.5}, queue=queue, max_retries=3).job
        procs.wait_until(lambda job=job: Job.objects.get(pk=job.pk).status == Status.RUNNING, timeout=30,
                         message="A to claim")
        lost_before = _lost(a)
        time.sleep(random.uniform(0.05, 0.3))
        _freeze_outside_a_write(a)  # the parent and its job-running child
        try:
            expires = Job.objects.get(pk=job.pk).lease_expires_at
            while clock.now() <= expires + timedelta(seconds=0.05):
                time.sleep(0.01)
            try:
                b = procs.wait_until(lambda: _reap_and_claim("B", queue), timeout=10, interval=0.05,
                                     message="B to reclaim")
            except AssertionError:
                raise AssertionError(f"B could not reclaim: {Job.objects.filter(pk=job.pk).values()[0]}\n"
                                     f"{a.output()[-3000:]}") from None
            assert [c.id for c in b] == [job.pk]
            lifecycle.ack(b[0], {"by": "B"})
        finally:
            os.killpg(a.pid, signal.SIGCONT)
        procs.wait_until(lambda: _lost(a) > lost_before, timeout=10, message="A to notice its lost lease")
        time.sleep(1.5)  # let A's child finish or be killed; nothing may change the job afterwards
        job.refresh_from_db()
        assert job.status == Status.DONE and job.result == {"by": "B"} and job.attempts == 2, (rep, job.result)
        assert a.popen.poll() is None, a.output()[-2000:]
