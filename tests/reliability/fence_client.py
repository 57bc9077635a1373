"""Worker A of the fencing test: a naive worker that keeps writing under its lease, whatever happens.

    python -m tests.reliability.fence_client QUEUE REPS LEASE_SECONDS LOCK_FILE

For each of REPS jobs on QUEUE it claims one, prints {"claimed": id, ...}, then "works" for the
job's payload seconds, heartbeating every lease/4, and finally heartbeats once more and acks. It never
gives up on its own: after being frozen (SIGSTOP) past its lease and resumed (SIGCONT) it still heartbeats and acks, and
prints what the database answered ({"report": id, "writes": [[kind, accepted, unix time], ...]}).
Every database write holds LOCK_FILE (flock), so the test can freeze it between writes, never
inside a transaction.
"""
import fcntl
import json
import os
import sys
import time
from contextlib import contextmanager


@contextmanager
def locked(path: str):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def say(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main(queue: str, reps: int, lease: float, lock: str) -> None:
    from queue_app import lifecycle
    from queue_app.errors import LeaseLost

    worker = f"A-{os.getpid()}"
    for _ in range(reps):
        claimed = []
        while not claimed:
            with locked(lock):
                claimed = lifecycle.claim(worker, [queue], 1, lease)
            if not claimed:
                time.sleep(0.01)
        job = claimed[0]
        say(claimed=job.job_id, token=job.lease_token, attempt=job.attempt, at=time.time())
        writes = []
        end = time.monotonic() + float(job.payload.get("seconds", 0.5))
        while time.monotonic() < end:
            time.sleep(lease / 4)
            with locked(lock):  # stamped inside the lock: a freeze cannot fall between the write and its stamp
                lost = lifecycle.heartbeat([job], lease)
                writes.append(["heartbeat", not lost, time.time()])
        with locked(lock):  # finish: a last heartbeat, then the ack, in one step
            lost = lifecycle.heartbeat([job], lease)
            writes.append(["heartbeat", not lost, time.time()])
            try:
                lifecycle.ack(job, {"by": "A", "token": job.lease_token})
                writes.append(["ack", True, time.time()])
            except LeaseLost:
                writes.append(["ack", False, time.time()])
        say(report=job.job_id, writes=writes)


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobqueue.settings")
    django.setup()
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
