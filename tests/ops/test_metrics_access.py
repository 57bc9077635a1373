"""JOBQUEUE_METRICS_AUTH: open, token (Bearer JOBQUEUE_METRICS_TOKEN) or staff; refusals are JSON."""
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_staff_mode(settings, make_user_with_key, api):
    settings.JOBQUEUE_METRICS_AUTH = "staff"
    anonymous = Client().get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    _, user_key = make_user_with_key("plain")
    refused = api(user_key).get("/metrics")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    _, staff_key = make_user_with_key("boss", staff=True)
    assert api(staff_key).get("/metrics").status_code == 200


def test_staff_session_may_scrape(settings, make_user):
    settings.JOBQUEUE_METRICS_AUTH = "staff"
    client = Client()
    client.force_login(make_user("sessionboss", staff=True))
    assert client.get("/metrics").status_code == 200


def test_token_mode(settings, make_user_with_key, api):
    settings.JOBQUEUE_METRICS_AUTH = "token"
    settings.JOBQUEUE_METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    for header in ("Bearer wrong", "Basic s3cret-token", ""):
        response = Client().get("/metrics", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    _, staff_key = make_user_with_key("boss2", staff=True)
    assert api(staff_key).get("/metrics").status_code == 401  # an API key is not the metrics token


def test_token_mode_without_a_token_refuses_everyone(settings):
    settings.JOBQUEUE_METRICS_AUTH = "token"
    settings.JOBQUEUE_METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_open_mode(settings):
    settings.JOBQUEUE_METRICS_AUTH = "open"
    response = Client().get("/metrics", HTTP_ACCEPT="*/*")
    assert response.status_code == 200 and b"jobqueue_scrape_duration_seconds" in response.content
