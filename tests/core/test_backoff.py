"""Retry delays: exponential, full jitter, capped."""
import random

import pytest

from queue_app import clock, lifecycle
from queue_app.backoff import retry_delay
from tests.core.support import claim_one, fresh, later


@pytest.fixture
def backoff_settings(settings):
    settings.JOBQUEUE_BACKOFF_BASE_SECONDS = 2.0
    settings.JOBQUEUE_BACKOFF_MAX_SECONDS = 60.0
    return settings


def ceiling(attempt: int, base: float = 2.0, cap: float = 60.0) -> float:
    return min(cap, base * 2 ** (attempt - 1))


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6, 7, 10, 30, 200])
def test_retry_delay_within_full_jitter_bounds(backoff_settings, attempt):
    rng = random.Random(attempt)
    samples = [retry_delay(attempt, rng=rng) for _ in range(2000)]
    top = ceiling(attempt)
    assert all(0 <= s <= top for s in samples)
    # Full jitter: spread over the whole window, not bunched near the top (or at zero).
    assert min(samples) < 0.05 * top
    assert max(samples) > 0.95 * top
    assert 0.4 * top < sum(samples) / len(samples) < 0.6 * top


def test_ceiling_doubles_then_caps(backoff_settings):
    rng = random.Random(7)
    tops = [max(retry_delay(a, rng=rng) for _ in range(3000)) for a in range(1, 9)]
    # 2, 4, 8, 16, 32, then capped at 60.
    for attempt, top in enumerate(tops, start=1):
        assert ceiling(attempt) * 0.97 <= top <= ceiling(attempt)
    assert all(top <= 60.0 for top in tops[5:])


def test_zero_base_means_immediate_retry(settings):
    settings.JOBQUEUE_BACKOFF_BASE_SECONDS = 0.0
    assert retry_delay(5) == 0.0


@pytest.mark.django_db
def test_fail_schedules_the_retry_inside_the_window(make_job, backoff_settings):
    job = make_job(max_retries=10)
    now = clock.now()
    for attempt in range(1, 8):
        claimed = claim_one(now)
        assert claimed.attempt == attempt
        lifecycle.fail(claimed, "again", now=now)
        run_at = fresh(job).run_at
        assert now <= run_at <= later(ceiling(attempt), now), (attempt, run_at - now)
        now = later(61, now)
