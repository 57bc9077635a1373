"""3. Model-checked lifecycle: a Hypothesis state machine drives the real lifecycle module on the real
database with an explicit clock, and compares every step with a small in-memory model.

Steps: submit, claim, heartbeat, ack, fail, release, advance the clock (leases expire), reap, cancel,
redrive, acks and heartbeats with stale tokens, cross-user reads. After every step: one valid status
per job and the model's status/attempts/lease; at most one live lease per job; attempts <= max_retries
+ 1; DLQ exactly when retries are exhausted; owners isolated; quota usage equal to a recount.
"""
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule, run_state_machine_as_test

from queue_app import lifecycle, quotas
from queue_app.errors import InvalidTransition, LeaseLost, QuotaExceeded, RateLimited
from queue_app.lifecycle import Claimed
from queue_app.models import ACTIVE, Job, Quota, Status

LEASE = 2.0
MAX_ACTIVE, RATE, BURST = 4, 60, 3
_machines = itertools.count()


@dataclass
class M:
    """The model of one job."""

    pk: object
    owner: int
    priority: int
    max_retries: int
    run_at: datetime
    status: str = Status.PENDING
    attempts: int = 0
    token: str | None = None
    lease_expires: datetime | None = None


class LifecycleMachine(RuleBasedStateMachine):
    held = Bundle("held")

    def __init__(self):
        super().__init__()
        n = next(_machines)
        self.users = [get_user_model().objects.create_user(f"model{n}-{side}") for side in "ab"]
        for u in self.users:
            Quota.objects.create(user=u, max_active=MAX_ACTIVE, rate_per_minute=RATE, burst=BURST)
        self.queue = f"model-{n}"
        self.now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
        self.jobs: dict[object, M] = {}
        self.tokens = {u.pk: (float(BURST), self.now) for u in self.users}

    # --- helpers ----------------------------------------------------------------------------
    def _active(self, owner: int) -> int:
        return sum(1 for j in self.jobs.values() if j.owner == owner and j.status in ACTIVE)

    def _tokens(self, owner: int) -> float:
        tokens, at = self.tokens[owner]
        return min(float(BURST), tokens + (self.now - at).total_seconds() * RATE / 60.0)

    def _after_failure(self, m: M) -> None:
        job = Job.objects.get(pk=m.pk)
        m.token = m.lease_expires = None
        if m.attempts < m.max_retries + 1:
            m.status = Status.FAILED
            ceiling = min(django_settings.JOBQUEUE_BACKOFF_MAX_SECONDS,
                          django_settings.JOBQUEUE_BACKOFF_BASE_SECONDS * 2 ** max(0, m.attempts - 1))
            assert self.now <= job.run_at <= self.now + timedelta(seconds=ceiling + 0.001)
            m.run_at = job.run_at
        else:
            m.status = Status.DLQ

    # --- rules ------------------------------------------------------------------------------
    @rule(side=st.integers(0, 1), priority=st.integers(-2, 2), max_retries=st.integers(0, 2),
          delay=st.sampled_from([None, 0.5, 3.0]))
    def submit(self, side, priority, max_retries, delay):
        user = self.users[side]
        expect_quota = self._active(user.pk) + 1 > MAX_ACTIVE
        tokens = self._tokens(user.pk)
        try:
            lifecycle.submit(user, "demo.echo", {"n": len(self.jobs)}, queue=self.queue, priority=priority,
                             max_retries=max_retries, delay_seconds=delay, now=self.now)
        except QuotaExceeded:
            assert expect_quota
            return
        except RateLimited:
            assert not expect_quota and tokens < 1 + 1e-6, tokens
            return
        assert not expect_quota and tokens > 1 - 1e-6, tokens
        job = Job.objects.filter(owner=user, queue=self.queue).order_by("-created_at", "-id").first()
        assert job.pk not in self.jobs
        self.tokens[user.pk] = (tokens - 1, self.now)
        self.jobs[job.pk] = M(job.pk, user.pk, priority, max_retries, self.now + timedelta(seconds=delay or 0))

    @rule(seconds=st.sampled_from([0.1, 0.7, 1.5, 2.5, 4.0]))
    def advance_clock(self, seconds):
        self.now += timedelta(seconds=seconds)

    @rule(target=held, limit=st.integers(1, 3))
    def claim(self, limit):
        ready = sorted((j for j in self.jobs.values() if j.status in (Status.PENDING, Status.FAILED)
                        and j.run_at <= self.now), key=lambda j: (-j.priority, j.run_at, j.pk))
        expected = [j.pk for j in ready[:limit]]
        got = lifecycle.claim("model-worker", [self.queue], limit, LEASE, now=self.now)
        assert sorted(c.id for c in got) == sorted(expected)
        for c in got:
            m = self.jobs[c.id]
            m.status, m.attempts, m.token = Status.RUNNING, m.attempts + 1, c.lease_token
            m.lease_expires = self.now + timedelta(seconds=LEASE)
            assert c.attempt == m.attempts
        return multiple(*got)

    @rule(c=held)
    def heartbeat(self, c: Claimed):
        m = self.jobs[c.id]
        lost = lifecycle.heartbeat([c], LEASE, now=self.now)
        assert bool(lost) == (m.token != c.lease_token)
        if not lost:
            m.lease_expires = self.now + timedelta(seconds=LEASE)

    @rule(c=held)
    def ack(self, c: Claimed):
        """Acks with live and with stale tokens: only the live one may change anything."""
        m = self.jobs[c.id]
        try:
            lifecycle.ack(c, {"ok": c.lease_token}, now=self.now)
        except LeaseLost:
            assert m.token != c.lease_token
            return
        assert m.token == c.lease_token
        m.status, m.token, m.lease_expires = Status.DONE, None, None

    @rule(c=held)
    def fail(self, c: Claimed):
        m = self.jobs[c.id]
        try:
            lifecycle.fail(c, "boom", now=self.now)
        except LeaseLost:
            assert m.token != c.lease_token
            return
        assert m.token == c.lease_token
        self._after_failure(m)

    @rule(c=held)
    def release(self, c: Claimed):
        m = self.jobs[c.id]
        released = lifecycle.release([c], now=self.now)
        assert bool(released) == (m.token == c.lease_token)
        if released:
            m.status, m.attempts, m.token, m.lease_expires = Status.PENDING, m.attempts - 1, None, None

    @rule()
    def reap(self):
        expired = [j for j in self.jobs.values() if j.status == Status.RUNNING and j.lease_expires < self.now]
        assert lifecycle.reap(now=self.now) == len(expired)
        for m in expired:
            self._after_failure(m)

    @rule(data=st.data())
    def cancel(self, data):
        if not self.jobs:
            return
        m = self.jobs[data.draw(st.sampled_from(sorted(self.jobs)))]
        try:
            lifecycle.cancel(Job.objects.get(pk=m.pk), now=self.now)
        except InvalidTransition:
            assert m.status not in (Status.PENDING, Status.FAILED)
            return
        assert m.status in (Status.PENDING, Status.FAILED)
        m.status = Status.CANCELLED

    @rule(data=st.data())
    def redrive(self, data):
        if not self.jobs:
            return
        m = self.jobs[data.draw(st.sampled_from(sorted(self.jobs)))]
        try:
            lifecycle.redrive(Job.objects.get(pk=m.pk), now=self.now)
        except InvalidTransition:
            assert m.status not in (Status.DLQ, Status.CANCELLED)
            return
        except QuotaExceeded:
            assert m.status in (Status.DLQ, Status.CANCELLED) and self._active(m.owner) + 1 > MAX_ACTIVE
            return
        assert m.status in (Status.DLQ, Status.CANCELLED) and self._active(m.owner) + 1 <= MAX_ACTIVE
        m.status, m.attempts, m.run_at = Status.PENDING, 0, self.now

    # --- invariants -------------------------------------------------------------------------
    @invariant()
    def database_matches_the_model(self):
        rows = {j.pk: j for j in Job.objects.filter(owner__in=self.users)}
        assert set(rows) == set(self.jobs)
        for pk, m in self.jobs.items():
            j = rows[pk]
            assert j.status in Status.values
            assert (j.status, j.attempts, j.lease_token) == (m.status, m.attempts, m.token), (j.__dict__, m)
            assert (j.lease_token is not None) == (j.status == Status.RUNNING)  # at most one live lease
            assert j.attempts <= j.max_retries + 1
            if j.status == Status.DLQ:
                assert j.attempts == j.max_retries + 1
            if j.status == Status.FAILED:
                assert j.attempts < j.max_retries + 1

    @invariant()
    def owners_are_isolated_and_usage_is_a_recount(self):
        for user in self.users:
            mine = {pk for pk, m in self.jobs.items() if m.owner == user.pk}
            seen = set(Job.objects.for_user(user).filter(owner__in=self.users).values_list("pk", flat=True))
            assert seen == mine
            usage = quotas.usage(user, self.now)["usage"]
            assert usage["active"] == self._active(user.pk)
            assert usage["running"] == sum(1 for pk in mine if self.jobs[pk].status == Status.RUNNING)
            assert abs(usage["tokens_available"] - self._tokens(user.pk)) < 0.01

    def teardown(self):
        Job.objects.filter(owner__in=self.users).delete()


@pytest.mark.django_db
def test_lifecycle_matches_its_model_under_random_operation_sequences():
    run_state_machine_as_test(LifecycleMachine, settings=settings(
        max_examples=20, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
