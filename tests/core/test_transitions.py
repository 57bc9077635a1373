"""Every allowed transition of the lifecycle, and every forbidden one refused."""
import pytest
from django.db import IntegrityError, transaction

from queue_app import clock, lifecycle
from queue_app.errors import InvalidTransition
from queue_app.models import Job, JobAttempt, Outcome, Status
from tests.core.support import LEASE, WORKER, claim_one, fresh, later, outcomes

pytestmark = pytest.mark.django_db


# --- PENDING -> RUNNING -> DONE ------------------------------------------------------------------
def test_claim_sets_lease_and_counts_the_attempt(make_job):
    job = make_job()
    now = later(1)
    claimed = claim_one(now)
    row = fresh(job)
    assert claimed.id == job.id and claimed.attempt == 1
    assert row.status == Status.RUNNING
    assert row.attempts == 1
    assert row.lease_token == claimed.lease_token and len(row.lease_token) == 32
    assert row.lease_owner == WORKER
    assert row.lease_expires_at == later(LEASE, now)
    assert row.started_at == now


def test_each_claim_gets_a_fresh_random_token(make_job):
    make_job()
    make_job()
    first, second = lifecycle.claim(WORKER, None, 2, LEASE)
    assert first.lease_token != second.lease_token


def test_ack_stores_the_result_and_clears_the_lease(make_job):
    job = make_job()
    claimed = claim_one()
    now = later(2)
    settlement = lifecycle.ack(claimed, {"answer": 42}, now=now)
    row = fresh(job)
    assert settlement.applied and settlement.new_status == Status.DONE
    assert row.status == Status.DONE
    assert row.result == {"answer": 42}
    assert row.finished_at == now
    assert (row.lease_token, row.lease_owner, row.lease_expires_at) == (None, None, None)
    attempt = JobAttempt.objects.get(job=job)
    assert (attempt.number, attempt.outcome, attempt.worker) == (1, Outcome.DONE, WORKER)
    assert attempt.finished_at == now and attempt.duration_ms >= 0


# --- RUNNING -> FAILED / DLQ ---------------------------------------------------------------------
def test_fail_with_retries_left_schedules_a_retry(make_job, settings):
    settings.JOBQUEUE_BACKOFF_BASE_SECONDS = 10
    settings.JOBQUEUE_BACKOFF_MAX_SECONDS = 100
    job = make_job(max_retries=2)
    claimed = claim_one()
    now = later(1)
    settlement = lifecycle.fail(claimed, "boom", "Traceback ...", now=now)
    row = fresh(job)
    assert settlement.new_status == Status.FAILED
    assert row.status == Status.FAILED and row.attempts == 1
    assert row.last_error == "boom"
    assert now <= row.run_at <= later(10, now)  # first retry: within [0, base]
    assert row.finished_at is None and row.lease_token is None
    attempt = JobAttempt.objects.get(job=job)
    assert (attempt.outcome, attempt.error, attempt.traceback) == (Outcome.FAILED, "boom", "Traceback ...")


def test_fail_with_timeout_outcome_is_recorded_as_timeout(make_job):
    job = make_job(max_retries=1)
    lifecycle.fail(claim_one(), "Timed out after 1 s.", outcome=Outcome.TIMEOUT)
    assert fresh(job).status == Status.FAILED
    assert outcomes(job) == [Outcome.TIMEOUT]


def test_dead_letters_after_exactly_max_retries_plus_one_attempts(make_job):
    job = make_job(max_retries=2)
    now = later(0)
    statuses = []
    for _ in range(5):
        claimed = lifecycle.claim(WORKER, None, 1, LEASE, now=now)
        if not claimed:
            break
        lifecycle.fail(claimed[0], "always fails", now=now)
        statuses.append(fresh(job).status)
        now = later(3600, now)  # past any backoff
    assert statuses == [Status.FAILED, Status.FAILED, Status.DLQ]
    row = fresh(job)
    assert row.attempts == 3 and row.finished_at is not None
    assert outcomes(job) == [Outcome.FAILED] * 3
    assert list(row.attempt_history.order_by("id").values_list("number", flat=True)) == [1, 2, 3]
    assert lifecycle.claim(WORKER, None, 1, LEASE, now=later(86400, now)) == []


def test_max_retries_zero_dead_letters_on_the_first_failure(make_job):
    job = make_job(max_retries=0)
    lifecycle.fail(claim_one(), "nope")
    assert fresh(job).status == Status.DLQ


# --- claimable rows and claim order --------------------------------------------------------------
def test_claim_order_is_priority_then_run_at_then_age(make_job):
    base = clock.now()
    low_old = make_job(priority=0, run_at=later(-10, base))
    high_late = make_job(priority=5, run_at=later(-1, base))
    high_early = make_job(priority=5, run_at=later(-5, base))
    low_old_younger = make_job(priority=0, run_at=later(-10, base))  # same run_at, created after
    negative = make_job(priority=-3, run_at=later(-100, base))
    order = [claim_one(base).id for _ in range(5)]
    assert order == [high_early.id, high_late.id, low_old.id, low_old_younger.id, negative.id]


def test_due_failed_jobs_are_claimable_and_future_ones_are_not(make_job):
    now = clock.now()
    due = make_job(status=Status.FAILED, attempts=1, run_at=later(-1, now))
    make_job(status=Status.FAILED, attempts=1, run_at=later(60, now))
    make_job(status=Status.PENDING, run_at=later(60, now))
    claimed = lifecycle.claim(WORKER, None, 10, LEASE, now=now)
    assert [c.id for c in claimed] == [due.id]
    assert claimed[0].attempt == 2 and fresh(due).attempts == 2


def test_run_at_exactly_now_is_due(make_job):
    now = clock.now()
    job = make_job(run_at=now)
    assert claim_one(now).id == job.id


@pytest.mark.parametrize("status", [Status.RUNNING, Status.DONE, Status.DLQ, Status.CANCELLED])
def test_other_statuses_are_never_claimed(make_job, status):
    fields = {"finished_at": clock.now()} if status != Status.RUNNING else {}
    make_job(status=status, **fields)
    assert lifecycle.claim(WORKER, None, 10, LEASE, now=later(3600)) == []


def test_claim_of_n_takes_at_most_n(make_job):
    for _ in range(5):
        make_job()
    assert lifecycle.claim(WORKER, None, 0, LEASE) == []
    first = lifecycle.claim(WORKER, None, 3, LEASE)
    second = lifecycle.claim(WORKER, None, 3, LEASE)
    assert (len(first), len(second)) == (3, 2)
    assert len({c.id for c in first + second}) == 5
    assert lifecycle.claim(WORKER, None, 3, LEASE) == []
    assert Job.objects.running().count() == 5


def test_claim_only_takes_the_asked_queues(make_job):
    wanted = make_job(queue="emails")
    make_job(queue="reports")
    claimed = lifecycle.claim(WORKER, ["emails", "other"], 10, LEASE)
    assert [c.id for c in claimed] == [wanted.id]


# --- RUNNING -> PENDING (release) ----------------------------------------------------------------
def test_release_gives_the_attempt_back(make_job):
    job = make_job(max_retries=0)
    claimed = claim_one()
    released = lifecycle.release([claimed])
    row = fresh(job)
    assert released == [claimed]
    assert row.status == Status.PENDING and row.attempts == 0
    assert (row.lease_token, row.lease_owner, row.lease_expires_at, row.started_at) == (None, None, None, None)
    assert outcomes(job) == [Outcome.RELEASED]
    # Released attempts never push a job toward the DLQ: even with max_retries 0 it runs again.
    again = claim_one()
    assert again.id == job.id and again.attempt == 1
    lifecycle.ack(again, "ok")
    assert fresh(job).status == Status.DONE


# --- heartbeat and reap --------------------------------------------------------------------------
def test_heartbeat_extends_the_lease(make_job):
    job = make_job()
    now = clock.now()
    claimed = claim_one(now)
    assert lifecycle.heartbeat([claimed], 60, now=later(20, now)) == []
    row = fresh(job)
    assert row.status == Status.RUNNING and row.lease_expires_at == later(80, now)
    assert row.attempts == 1 and row.lease_token == claimed.lease_token


def test_reap_fails_only_expired_leases(make_job):
    job = make_job(max_retries=1)
    now = clock.now()
    claim_one(now, lease=10)
    assert lifecycle.reap(now=later(9, now)) == 0
    assert fresh(job).status == Status.RUNNING
    assert lifecycle.reap(now=later(11, now)) == 1
    row = fresh(job)
    assert row.status == Status.FAILED and row.lease_token is None
    assert "lease expired" in row.last_error
    assert outcomes(job) == [Outcome.LEASE_EXPIRED]
    assert JobAttempt.objects.get(job=job).worker == WORKER


def test_reaped_job_runs_again_and_then_dead_letters(make_job):
    """A job whose worker dies every time ends in the DLQ instead of looping forever."""
    job = make_job(max_retries=1)
    now = clock.now()
    for _ in range(2):
        claim_one(now, lease=5)
        assert lifecycle.reap(now=later(6, now)) == 1
        now = later(3600, now)  # past the retry backoff
    assert fresh(job).status == Status.DLQ
    assert outcomes(job) == [Outcome.LEASE_EXPIRED, Outcome.LEASE_EXPIRED]


def test_a_heartbeat_keeps_the_reaper_away(make_job):
    job = make_job()
    now = clock.now()
    claimed = claim_one(now, lease=10)
    lifecycle.heartbeat([claimed], 10, now=later(8, now))
    assert lifecycle.reap(now=later(15, now)) == 0
    assert fresh(job).status == Status.RUNNING


# --- cancel --------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [Status.PENDING, Status.FAILED])
def test_cancel_before_it_runs(make_job, status):
    job = make_job(status=status, attempts=1 if status == Status.FAILED else 0)
    now = later(1)
    lifecycle.cancel(job, now=now)
    row = fresh(job)
    assert row.status == Status.CANCELLED and row.finished_at == now
    assert lifecycle.claim(WORKER, None, 10, LEASE, now=later(3600)) == []


@pytest.mark.parametrize("status", [Status.RUNNING, Status.DONE, Status.DLQ, Status.CANCELLED])
def test_cancel_refused_once_it_ran(make_job, status):
    fields = {} if status == Status.RUNNING else {"finished_at": clock.now()}
    job = make_job(status=status, **fields)
    before = fresh(job)
    with pytest.raises(InvalidTransition) as info:
        lifecycle.cancel(job)
    assert info.value.code == "conflict" and info.value.status == 409
    after = fresh(job)
    assert (after.status, after.updated_at, after.lease_token) == (before.status, before.updated_at, before.lease_token)


# --- redrive -------------------------------------------------------------------------------------
def test_redrive_gives_a_fresh_budget_and_keeps_the_history(make_job):
    job = make_job(max_retries=1)
    now = clock.now()
    for _ in range(2):
        lifecycle.fail(claim_one(now), "bad", now=now)
        now = later(3600, now)
    assert fresh(job).status == Status.DLQ
    lifecycle.redrive(fresh(job), now=now)
    row = fresh(job)
    assert row.status == Status.PENDING and row.attempts == 0
    assert row.run_at == now and row.finished_at is None and row.result is None
    assert outcomes(job) == [Outcome.FAILED, Outcome.FAILED]
    # The fresh budget is the whole max_retries + 1 again.
    lifecycle.fail(claim_one(now), "bad again", now=now)
    assert fresh(job).status == Status.FAILED
    lifecycle.ack(claim_one(later(3600, now)), "fine", now=later(3600, now))
    assert fresh(job).status == Status.DONE
    assert outcomes(job) == [Outcome.FAILED, Outcome.FAILED, Outcome.FAILED, Outcome.DONE]


def test_redrive_a_cancelled_job(make_job):
    job = make_job()
    lifecycle.cancel(job)
    lifecycle.redrive(job)
    assert fresh(job).status == Status.PENDING
    assert claim_one().id == job.id


@pytest.mark.parametrize("status", [Status.PENDING, Status.RUNNING, Status.DONE, Status.FAILED])
def test_redrive_refused_unless_dead_or_cancelled(make_job, status):
    fields = {"attempts": 1} if status == Status.FAILED else {}
    if status == Status.DONE:
        fields["finished_at"] = clock.now()
    job = make_job(status=status, **fields)
    before = fresh(job)
    with pytest.raises(InvalidTransition):
        lifecycle.redrive(job)
    after = fresh(job)
    assert (after.status, after.attempts, after.updated_at) == (before.status, before.attempts, before.updated_at)


def test_bulk_operator_transitions_skip_jobs_in_the_wrong_state(make_job):
    from queue_app.lifecycle.operator import cancel_many, redrive_many

    pending, running = make_job(), make_job(status=Status.RUNNING)
    dead = make_job(status=Status.DLQ, attempts=4, finished_at=clock.now())
    assert cancel_many([pending.id, running.id, dead.id]) == 1
    assert redrive_many([pending.id, running.id, dead.id]) == 2  # cancelled + DLQ
    assert {fresh(j).status for j in (pending, dead)} == {Status.PENDING}
    assert fresh(running).status == Status.RUNNING


# --- database constraints ------------------------------------------------------------------------
def _refused(make_job, **fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_job(**fields)


def test_db_refuses_running_without_lease(make_job):
    _refused(make_job, status=Status.RUNNING, lease_token=None)
    _refused(make_job, status=Status.RUNNING, lease_owner=None)
    _refused(make_job, status=Status.RUNNING, lease_expires_at=None)


@pytest.mark.parametrize("status", [Status.PENDING, Status.FAILED, Status.DONE, Status.DLQ, Status.CANCELLED])
def test_db_refuses_a_lease_outside_running(make_job, status):
    _refused(make_job, status=status, lease_token="x" * 32, lease_owner="w", lease_expires_at=clock.now())


def test_db_refuses_attempts_beyond_the_budget(make_job):
    _refused(make_job, status=Status.FAILED, max_retries=2, attempts=4)
    make_job(status=Status.DLQ, max_retries=2, attempts=3)  # the limit itself is fine


def test_db_refuses_bad_priority_and_status(make_job):
    _refused(make_job, priority=1001)
    _refused(make_job, priority=-1001)
    _refused(make_job, status="LOST")


def test_db_refuses_a_second_idempotency_key_per_owner(make_job, make_user):
    owner = make_user()
    make_job(owner=owner, idempotency_key="k1")
    _refused(make_job, owner=owner, idempotency_key="k1")
    make_job(owner=make_user(), idempotency_key="k1")  # another owner may use the same key
    make_job(owner=owner, idempotency_key=None)
    make_job(owner=owner, idempotency_key=None)  # no key: no uniqueness
