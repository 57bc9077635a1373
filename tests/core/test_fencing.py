"""Fencing: a stale lease token (the job was reaped or claimed again) changes nothing."""
import pytest

from queue_app import clock, lifecycle
from queue_app.errors import LeaseLost
from queue_app.lifecycle import Settlement
from queue_app.models import JobAttempt, Outcome, Status
from tests.core.support import claim_one, fresh, later, outcomes

pytestmark = pytest.mark.django_db


def _snapshot(job):
    row = fresh(job)
    return (row.status, row.attempts, row.lease_token, row.lease_owner, row.lease_expires_at, row.result,
            row.last_error, row.run_at, row.updated_at, JobAttempt.objects.filter(job=job).count())


def _zombie_and_successor(make_job):
    """A first claim whose lease expired and was reaped, and a second claim now holding the job."""
    job = make_job(max_retries=3)
    now = clock.now()
    zombie = claim_one(now, worker="zombie", lease=5)
    now = later(10, now)
    assert lifecycle.reap(now=now) == 1
    now = later(3600, now)  # past the retry backoff
    successor = claim_one(now, worker="successor", lease=30)
    assert successor.id == job.id and successor.lease_token != zombie.lease_token
    return job, zombie, successor, now


def test_stale_ack_raises_and_changes_nothing(make_job):
    job, zombie, _, now = _zombie_and_successor(make_job)
    before = _snapshot(job)
    with pytest.raises(LeaseLost) as info:
        lifecycle.ack(zombie, {"from": "zombie"}, now=now)
    assert info.value.code == "stale_lease" and info.value.details["job_id"] == str(job.id)
    assert _snapshot(job) == before


def test_stale_fail_raises_and_changes_nothing(make_job):
    job, zombie, _, now = _zombie_and_successor(make_job)
    before = _snapshot(job)
    with pytest.raises(LeaseLost):
        lifecycle.fail(zombie, "zombie error", now=now)
    with pytest.raises(LeaseLost):
        lifecycle.fail(zombie, "zombie timeout", outcome=Outcome.TIMEOUT, now=now)
    assert _snapshot(job) == before


def test_stale_heartbeat_reports_lost_and_changes_nothing(make_job):
    job, zombie, successor, now = _zombie_and_successor(make_job)
    before = _snapshot(job)
    assert lifecycle.heartbeat([zombie], 600, now=later(1, now)) == [zombie]
    assert _snapshot(job) == before
    # In a batch, only the stale one is reported; the live one is extended.
    assert lifecycle.heartbeat([zombie, successor], 600, now=later(1, now)) == [zombie]
    assert fresh(job).lease_expires_at == later(601, now)


def test_stale_release_changes_nothing(make_job):
    job, zombie, _, now = _zombie_and_successor(make_job)
    before = _snapshot(job)
    assert lifecycle.release([zombie], now=now) == []
    assert _snapshot(job) == before


def test_stale_settlement_in_a_batch_leaves_the_others_applied(make_job):
    job, zombie, successor, now = _zombie_and_successor(make_job)
    other = make_job()
    other_claim = claim_one(now)
    batch = [
        Settlement(zombie.id, zombie.lease_token, Outcome.DONE, zombie.attempt, zombie.worker, zombie.started_at,
                   result="zombie"),
        Settlement(other_claim.id, other_claim.lease_token, Outcome.DONE, 1, "w", other_claim.started_at,
                   result="other"),
    ]
    lifecycle.settle(batch, now=now)
    assert [s.applied for s in batch] == [False, True]
    assert fresh(other).status == Status.DONE
    row = fresh(job)
    assert row.status == Status.RUNNING and row.lease_token == successor.lease_token and row.result is None


def test_the_successor_still_settles_after_the_zombie_tried(make_job):
    job, zombie, successor, now = _zombie_and_successor(make_job)
    with pytest.raises(LeaseLost):
        lifecycle.ack(zombie, "zombie", now=now)
    lifecycle.ack(successor, "winner", now=now)
    row = fresh(job)
    assert row.status == Status.DONE and row.result == "winner"
    assert outcomes(job) == [Outcome.LEASE_EXPIRED, Outcome.DONE]
    assert list(row.attempt_history.order_by("id").values_list("worker", flat=True)) == ["zombie", "successor"]


def test_ack_after_reap_before_reclaim_is_refused(make_job):
    """The lease expired and was reaped, nobody holds the job yet: the old token still cannot ack."""
    job = make_job(max_retries=3)
    now = clock.now()
    claimed = claim_one(now, lease=5)
    lifecycle.reap(now=later(6, now))
    before = _snapshot(job)
    with pytest.raises(LeaseLost):
        lifecycle.ack(claimed, "late", now=later(7, now))
    assert _snapshot(job) == before and fresh(job).status == Status.FAILED


def test_double_ack_is_refused(make_job):
    job = make_job()
    claimed = claim_one()
    lifecycle.ack(claimed, "first")
    with pytest.raises(LeaseLost):
        lifecycle.ack(claimed, "second")
    assert fresh(job).result == "first"
    assert outcomes(job) == [Outcome.DONE]


def test_reap_does_not_touch_a_job_acked_in_the_meantime(make_job):
    job = make_job()
    now = clock.now()
    claimed = claim_one(now, lease=5)
    lifecycle.ack(claimed, "done in time", now=later(1, now))
    assert lifecycle.reap(now=later(60, now)) == 0
    assert fresh(job).status == Status.DONE
    assert outcomes(job) == [Outcome.DONE]
