"""Clients for API tests: `api(raw_key)` returns a DRF test client sending `Authorization: Bearer <key>`."""
import pytest

from tests.live_server import gunicorn_factory, gunicorn_server  # noqa: F401 - fixtures


@pytest.fixture
def alice(make_user_with_key, api):
    user, raw = make_user_with_key("alice")
    return user, api(raw)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made per test; PBKDF2 at full strength would dominate the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Failed-key counts live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
