"""Retry delays: exponential with full jitter, capped."""
import random

from django.conf import settings


def retry_delay(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait before retrying after failed attempt number `attempt` (1-based)."""
    base = settings.JOBQUEUE_BACKOFF_BASE_SECONDS
    cap = settings.JOBQUEUE_BACKOFF_MAX_SECONDS
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(0, ceiling)
