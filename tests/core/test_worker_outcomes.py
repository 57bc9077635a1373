"""Real `runworker --burst` processes: retries, DLQ, timeouts and unknown tasks end where they should."""
import pytest

from queue_app.models import Job, Outcome, Status
from tests.core.support import fresh, outcomes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST = ("--burst", "--poll-interval", "0.05", "--lease-seconds", "5")


def run_burst(workers, *args: str, timeout: float = 60) -> str:
    proc = workers(*FAST, *args)
    code = proc.wait(timeout)
    out = proc.output()
    assert code == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    return out


def test_flaky_succeeds_on_its_third_attempt_and_fail_dead_letters_after_three(make_job, workers):
    flaky = make_job(task="demo.flaky", payload={"fail_times": 2}, max_retries=3)
    failing = make_job(task="demo.fail", payload={"message": "no luck"}, max_retries=2)
    run_burst(workers, "--concurrency", "2")

    row = fresh(flaky)
    assert row.status == Status.DONE and row.attempts == 3
    assert row.result == {"succeeded_on_attempt": 3}
    assert outcomes(flaky) == [Outcome.FAILED, Outcome.FAILED, Outcome.DONE]

    row = fresh(failing)
    assert row.status == Status.DLQ and row.attempts == 3
    assert "no luck" in row.last_error
    assert outcomes(failing) == [Outcome.FAILED] * 3
    tracebacks = list(row.attempt_history.values_list("traceback", flat=True))
    assert all("DemoFailure" in tb for tb in tracebacks)


def test_timeout_kills_the_job_and_the_worker_keeps_working(make_job, workers):
    slow = make_job(task="demo.sleep", payload={"seconds": 60}, timeout_seconds=1, max_retries=0, priority=10)
    after = make_job(task="demo.echo", payload={"after": True}, priority=0)
    run_burst(workers, "--concurrency", "1", timeout=30)

    row = fresh(slow)
    assert row.status == Status.DLQ
    assert outcomes(slow) == [Outcome.TIMEOUT]
    assert "Timed out" in row.last_error
    assert row.attempt_history.get().duration_ms < 30_000  # cut short, not the 60 s it asked for
    done = fresh(after)
    assert done.status == Status.DONE and done.result == {"after": True}


def test_timeout_follows_the_retry_rule(make_job, workers):
    slow = make_job(task="demo.sleep", payload={"seconds": 30}, timeout_seconds=1, max_retries=1)
    run_burst(workers, "--concurrency", "1", timeout=30)
    assert fresh(slow).status == Status.DLQ
    assert outcomes(slow) == [Outcome.TIMEOUT, Outcome.TIMEOUT]


def test_unknown_task_fails_with_that_error_and_follows_the_retry_rule(make_job, workers):
    unknown = make_job(task="nope.unknown", max_retries=1)
    known = make_job(task="demo.echo", payload={"fine": 1})
    run_burst(workers, "--concurrency", "1")

    row = fresh(unknown)
    assert row.status == Status.DLQ and row.attempts == 2
    assert "Unknown task 'nope.unknown'" in row.last_error
    assert outcomes(unknown) == [Outcome.FAILED, Outcome.FAILED]
    assert all("nope.unknown" in e for e in row.attempt_history.values_list("error", flat=True))
    assert fresh(known).status == Status.DONE


def test_max_jobs_stops_after_that_many(make_job, workers):
    for i in range(5):
        make_job(payload={"i": i})
    proc = workers("--poll-interval", "0.05", "--max-jobs", "2", "--concurrency", "1")
    assert proc.wait(30) == 0, proc.output()[-3000:]
    assert Job.objects.filter(status=Status.DONE).count() == 2
    assert Job.objects.filter(status=Status.PENDING).count() == 3


def test_a_child_killed_mid_job_fails_the_attempt_and_the_worker_carries_on(make_job, workers):
    poison = make_job(task="demo.crash", max_retries=1, priority=5)
    after = make_job(task="demo.echo", payload={"still": "alive"})
    run_burst(workers, "--concurrency", "1")
    row = fresh(poison)
    assert row.status == Status.DLQ and row.attempts == 2
    assert outcomes(poison) == [Outcome.FAILED, Outcome.FAILED]
    assert "killed by signal 9" in row.last_error
    assert fresh(after).status == Status.DONE
