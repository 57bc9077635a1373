"""API keys: valid, missing, malformed, unknown and revoked keys; only hashes are stored; sessions need CSRF."""
import pytest
from django.db import connection
from rest_framework.test import APIClient

from queue_app.auth import create_key, revoke
from queue_app.models import ApiKey

pytestmark = pytest.mark.django_db


def _assert_401(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_valid_key_authenticates_and_records_last_use(make_user_with_key, api):
    user, raw = make_user_with_key()
    response = api(raw).get("/api/jobs/")
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}
    assert ApiKey.objects.get(user=user).last_used_at is not None


def test_missing_key(api):
    _assert_401(api().get("/api/jobs/"))
    _assert_401(api().post("/api/jobs/", {"task": "demo.echo"}, format="json"))


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer a b", "Token abc", "Bearer not-a-key", "Bearer jq_short_x",
    "Bearer jq_000000000000_" + "A" * 43,  # well formed but unknown
])
def test_malformed_or_unknown_keys(make_user_with_key, header):
    make_user_with_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    _assert_401(client.get("/api/jobs/"))


def test_right_prefix_wrong_secret(make_user_with_key, api):
    _, raw = make_user_with_key()
    tampered = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    _assert_401(api(tampered).get("/api/jobs/"))


def test_revoked_key(make_user_with_key, api):
    user, raw = make_user_with_key()
    assert api(raw).get("/api/quota/").status_code == 200
    revoke(ApiKey.objects.get(user=user))
    _assert_401(api(raw).get("/api/quota/"))


def test_inactive_user_key(make_user_with_key, api):
    user, raw = make_user_with_key()
    user.is_active = False
    user.save()
    _assert_401(api(raw).get("/api/quota/"))


def test_database_holds_no_raw_key(make_user):
    user = make_user()
    key, raw = create_key(user, "ci")
    assert raw.startswith(f"jq_{key.prefix}_") and len(raw) > 40
    secret = raw.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM queue_app_apikey")
        rows = cursor.fetchall()
    dumped = repr(rows)
    assert secret not in dumped and raw not in dumped
    assert key.hashed_key != raw and len(key.hashed_key) == 64


def test_session_login_works_and_writes_need_csrf(make_user):
    make_user("sessionuser", password="pw-secret-123")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="sessionuser", password="pw-secret-123")
    assert client.get("/api/jobs/").status_code == 200
    refused = client.post("/api/jobs/", {"task": "demo.echo"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    page = client.get("/api/jobs/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"<html" in page.content.lower()  # the browsable API
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/jobs/", {"task": "demo.echo"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
