"""Shared fixtures: users and keys, jobs in any state, and real worker subprocesses."""
import itertools
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from queue_app.auth import create_key
from queue_app.models import Job, Status
from tests import procs

_names = itertools.count()


@pytest.fixture
def make_user(db):
    def make(username: str | None = None, *, staff: bool = False, password: str = "pw-secret-123"):
        name = username or f"user{next(_names)}"
        user = get_user_model().objects.create_user(username=name, password=password, is_staff=staff)
        return user

    return make


@pytest.fixture
def make_user_with_key(make_user):
    def make(username: str | None = None, *, staff: bool = False):
        user = make_user(username, staff=staff)
        _, raw = create_key(user, "test")
        return user, raw

    return make


@pytest.fixture
def api():
    """`api(raw_key)`: a DRF test client sending `Authorization: Bearer <raw_key>` (none without a key)."""

    def make(raw_key: str | None = None) -> APIClient:
        client = APIClient()
        if raw_key:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        return client

    return make


@pytest.fixture
def make_job(make_user):
    """A job in any status, written directly (tests may set up states the lifecycle then acts on)."""

    def make(status: str = Status.PENDING, owner=None, **fields):
        now = timezone.now()
        values = dict(owner=owner or make_user(), task="demo.echo", payload={}, status=status, run_at=now,
                      created_at=now, updated_at=now, max_retries=3, timeout_seconds=60)
        if status == Status.RUNNING:
            values.update(lease_token="t" * 32, lease_owner="test-worker", attempts=1,
                          lease_expires_at=now + timedelta(seconds=30), started_at=now)
        values.update(fields)
        return Job.objects.create(**values)

    return make


@pytest.fixture
def workers(tmp_path):
    """Start real `manage.py runworker` processes; all are killed at teardown."""
    started: list[procs.Proc] = []

    def start(*args: str, env: dict | None = None, name: str | None = None) -> procs.Proc:
        log = tmp_path / f"{name or 'worker'}-{len(started)}.log"
        proc = procs.Proc([sys.executable, "manage.py", "runworker", *args], log, env or procs.env())
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (the per-client API key failure counts live there)."""
    from django.core.cache import cache

    cache.clear()
    yield
