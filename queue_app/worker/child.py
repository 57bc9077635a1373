"""A job-running child process: receives jobs over a pipe, runs the handler, sends the outcome back."""
import ctypes
import json
import os
import signal
import time
import traceback as tb

from queue_app import registry
from queue_app.registry import JobContext

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: SIGKILL this child when the worker parent dies, so no orphan keeps running a job."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def run_handler(msg: dict) -> tuple:
    """Run one job; returns ('ok', result, t0, t1) or ('err', error, traceback, t0, t1)."""
    t0 = time.time()
    spec = registry.get(msg["task"])
    if spec is None:
        return ("err", f"Unknown task '{msg['task']}': no handler is registered in this worker.", "", t0, time.time())
    try:
        if spec.takes_context:
            ctx = JobContext(job_id=msg["id"], attempt=msg["attempt"], fencing_token=msg["token"],
                             queue=msg["queue"], task=msg["task"])
            result = spec.func(msg["payload"], ctx)
        else:
            result = spec.func(msg["payload"])
        json.dumps(result)
    except TypeError as exc:
        if "JSON serializable" in str(exc):
            return ("err", f"The result is not JSON-serialisable: {exc}", tb.format_exc(), t0, time.time())
        return ("err", f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}", tb.format_exc(), t0, time.time())
    except BaseException as exc:  # noqa: BLE001 - a handler may raise anything, SystemExit included
        return ("err", f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}", tb.format_exc(), t0, time.time())
    return ("ok", result, t0, time.time())


def child_main(conn, parent_pid: int) -> None:
    """The child's loop: one job at a time until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent_pid:
        os._exit(0)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        for job in msg if isinstance(msg, list) else [msg]:
            conn.send((job["id"], *run_handler(job)))
    os._exit(0)
