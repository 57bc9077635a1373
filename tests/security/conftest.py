"""Users A and B and a staff user, each with an API key and a logged-in browser session; A owns jobs."""
from dataclasses import dataclass

import pytest
from django.test import Client

from queue_app.models import ApiKey, Status


@dataclass
class Actor:
    user: object
    raw_key: str
    api: Client  # Authorization: Bearer <key>
    web: Client  # logged-in session


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def actor(make_user_with_key):
    def make(name: str, staff: bool = False) -> Actor:
        user, raw = make_user_with_key(name, staff=staff)
        web = Client()
        web.force_login(user)
        return Actor(user, raw, Client(HTTP_AUTHORIZATION=f"Bearer {raw}"), web)

    return make


@pytest.fixture
def world(actor, make_job):
    """A (with jobs in every status), B and staff."""
    a, b, staff = actor("alice"), actor("bob"), actor("root", staff=True)
    jobs = {status: make_job(status=status, owner=a.user, queue="alice-q", task="demo.echo",
                             payload={"secret": "alice-payload"}, result={"r": "alice-result"}
                             if status == Status.DONE else None,
                             attempts=4 if status == Status.DLQ else (1 if status == Status.RUNNING else 0))
            for status in Status.values}
    return dict(a=a, b=b, staff=staff, jobs=jobs, a_key=ApiKey.objects.get(user=a.user))
