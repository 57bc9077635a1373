"""Demo tasks used by the docs, the dashboard and the tests."""
import os
import signal
import time

from queue_app.registry import task


class DemoFailure(Exception):
    """Raised by demo.fail and demo.flaky."""


@task("demo.echo", description="Returns its payload.")
def echo(payload):
    return payload


@task("demo.sleep", description='Sleeps {"seconds": s}, then returns how long it slept.')
def sleep(payload):
    seconds = float(payload.get("seconds", 1))
    time.sleep(seconds)
    return {"slept": seconds}


@task("demo.fail", description='Always raises, with {"message": ...}.')
def fail(payload):
    raise DemoFailure(payload.get("message", "demo.fail always fails"))


@task("demo.flaky", description='Fails its first {"fail_times": n} attempts, then succeeds.', takes_context=True)
def flaky(payload, ctx):
    fail_times = int(payload.get("fail_times", 1))
    if ctx.attempt <= fail_times:
        raise DemoFailure(f"flaky failure {ctx.attempt} of {fail_times}")
    return {"succeeded_on_attempt": ctx.attempt}


@task("demo.crash", description="Kills its own worker process (a poison job).")
def crash(payload):
    os.kill(os.getpid(), signal.SIGKILL)
