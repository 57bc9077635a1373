"""Chaos tasks: handlers that record every execution in a ledger kept outside the database.

Import this module in worker processes with JOBQUEUE_EXTRA_TASK_MODULES=tests.reliability.chaos_tasks
and point JOBQUEUE_CHAOS_LEDGER at a directory: each process appends to its own file there,
one line when an execution starts and one when it ends (see ledger.py for the format).
"""
import os
import time

from queue_app.registry import JobContext, task

LEDGER_ENV = "JOBQUEUE_CHAOS_LEDGER"


def _append(phase: str, ctx: JobContext, stamp: float) -> None:
    directory = os.environ.get(LEDGER_ENV)
    if not directory:
        return
    line = f"{phase}\t{ctx.job_id}\t{ctx.attempt}\t{ctx.fencing_token}\t{os.getpid()}\t{os.getppid()}\t{stamp:.6f}\n"
    # One write() on an O_APPEND descriptor: a line is never torn, even if the process dies right after.
    fd = os.open(os.path.join(directory, f"{os.getpid()}.ledger"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@task("chaos.sleep", description='Sleeps {"seconds": s} and records the execution in the chaos ledger.',
      takes_context=True)
def chaos_sleep(payload, ctx: JobContext):
    start = time.time()
    _append("S", ctx, start)
    time.sleep(float(payload.get("seconds", 0.05)))
    end = time.time()
    _append("E", ctx, end)
    return {"slept": round(end - start, 4), "pid": os.getpid()}
