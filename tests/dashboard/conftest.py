"""Logged-in clients for the dashboard tests."""
import pytest
from django.test import Client


@pytest.fixture
def login(make_user):
    """login(staff=False, user=None) -> (client, user), logged in through the real login view."""

    def make(*, staff: bool = False, user=None, csrf: bool = False):
        user = user or make_user(staff=staff)
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(user)
        return client, user

    return make


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users log in many times; the production hasher's cost buys nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
