"""Slow down API key guessing: per client IP, failed key checks are counted in fixed one-minute windows.

Once a client reaches JOBQUEUE_AUTH_FAILURES_PER_MINUTE failures, every request it makes with an
Authorization header answers 429 `rate_limited` (with Retry-After) until the window ends, before any
key lookup, so a throttled client learns nothing, not even from a valid key.

Counts live in Django's cache (the `default` alias). With the default per-process memory cache each
web process counts on its own; point CACHES at a shared cache (Redis, Memcached or the database
cache) to count across processes and hosts. See docs/security.md.
"""
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled

WINDOW_SECONDS = 60


def client_ip(request) -> str:
    """REMOTE_ADDR: behind a proxy, have it set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _key(ip: str, now: float) -> str:
    return f"jq:authfail:{ip}:{int(now // WINDOW_SECONDS)}"


def _limit() -> int | None:
    return settings.JOBQUEUE_AUTH_FAILURES_PER_MINUTE


def check(request) -> None:
    """Raise Throttled (429) when this client has failed too often in the current window."""
    limit = _limit()
    if not limit:
        return
    now = time.time()
    if (cache.get(_key(client_ip(request), now)) or 0) >= limit:
        wait = WINDOW_SECONDS - (now % WINDOW_SECONDS)
        raise Throttled(wait=max(1, int(wait) + 1),
                        detail="Too many invalid API keys from this client; retry later.")


def failed(request) -> None:
    """Count one failed key check for this client."""
    if not _limit():
        return
    key = _key(client_ip(request), time.time())
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
