"""The lifecycle: the only code that writes a job's status, attempts and lease fields.

    submit            -> PENDING
    claim             PENDING/FAILED(due) -> RUNNING       (queue_app.claiming)
    settle: ack       RUNNING -> DONE
    settle: fail      RUNNING -> FAILED (retry later) or DLQ (retries exhausted)
    heartbeat         RUNNING -> RUNNING (lease extended)
    release           RUNNING -> PENDING (attempt given back)
    reap              RUNNING with expired lease -> FAILED / DLQ
    cancel            PENDING/FAILED -> CANCELLED
    discard           DLQ -> CANCELLED (operator.discard_many; still redrivable)
    redrive           DLQ/CANCELLED -> PENDING (fresh retry budget)

See docs/lifecycle.md.
"""
from queue_app.lifecycle.operator import cancel, redrive
from queue_app.lifecycle.running import (
    Claimed,
    Settlement,
    ack,
    claim,
    fail,
    heartbeat,
    reap,
    release,
    settle,
)
from queue_app.lifecycle.submit import SubmitResult, submit, submit_many

__all__ = [
    "Claimed", "Settlement", "SubmitResult", "ack", "cancel", "claim", "fail", "heartbeat", "reap",
    "redrive", "release", "settle", "submit", "submit_many",
]
