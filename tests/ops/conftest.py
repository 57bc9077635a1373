"""Fixtures for the operations tests: API clients, gunicorn, a scrape helper."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.live_server import gunicorn_factory, gunicorn_server  # noqa: F401 - fixtures


@pytest.fixture
def staff_api(make_user_with_key, api):
    _, raw = make_user_with_key("ops-admin", staff=True)
    return api(raw)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def samples(text: str) -> dict[tuple, float]:
    """Every sample of a Prometheus exposition as {(name, sorted label pairs): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def by_label(parsed: dict, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: v for (n, labels), v in parsed.items() if n == name}
