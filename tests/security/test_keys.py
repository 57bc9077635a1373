"""10. Keys: no raw key in the database or the logs; revoked and malformed keys get 401; repeated bad keys
from one client are slowed down (429 rate_limited with Retry-After); keys compare in constant time."""
import hmac
import logging

import pytest
from django.db import connection
from django.test import Client

from queue_app import auth
from queue_app.auth import create_key, revoke


def _all_database_text() -> str:
    """Every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks += [repr(row) for row in cursor.fetchall()]
    return "\n".join(chunks)


@pytest.mark.django_db
def test_neither_the_database_nor_the_logs_hold_a_raw_key(make_user, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user("keyholder")
    key, raw = create_key(user, "ci")
    secret = raw.split("_", 2)[2]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/jobs/").status_code == 200
    assert client.post("/api/jobs/", {"task": "demo.echo"}, content_type="application/json").status_code == 201
    wrong = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {wrong}").get("/api/jobs/").status_code == 401
    text = _all_database_text()
    assert secret not in text and raw not in text
    assert key.prefix in text and auth.hash_key(raw) in text  # what is stored instead
    assert secret not in caplog.text and wrong.split("_", 2)[2] not in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("header", [
    "Bearer", "Bearer  ", "Bearer a b", "Basic dXNlcjpwYXNz", "Token jq_x", "Bearer jq_", "Bearer jq_123_abc",
    "Bearer jq_000000000000_" + "A" * 43, "Bearer " + "x" * 5000, "Bearer jq_ZZZZZZZZZZZZ_" + "é" * 40,
])
def test_malformed_and_unknown_keys_get_401_json(header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/jobs/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_revoked_key_gets_401_and_a_live_key_of_the_same_user_still_works(make_user):
    user = make_user("revoker")
    old, old_raw = create_key(user, "old")
    _, new_raw = create_key(user, "new")
    revoke(old)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {old_raw}").get("/api/jobs/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    assert Client(HTTP_AUTHORIZATION=f"Bearer {new_raw}").get("/api/jobs/").status_code == 200


@pytest.mark.django_db
def test_repeated_bad_keys_from_one_client_are_slowed_down(make_user, settings):
    settings.JOBQUEUE_AUTH_FAILURES_PER_MINUTE = 5
    user = make_user("victim")
    _, raw = create_key(user, "good")
    bad = Client(HTTP_AUTHORIZATION="Bearer jq_000000000000_" + "A" * 43, REMOTE_ADDR="203.0.113.9")
    codes = [bad.get("/api/jobs/").status_code for _ in range(5)]
    assert codes == [401] * 5
    throttled = bad.get("/api/jobs/")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(throttled["Retry-After"]) <= 61
    # A throttled client learns nothing more, not even from a valid key...
    same_client_good_key = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="203.0.113.9")
    assert same_client_good_key.get("/api/jobs/").status_code == 429
    # ...while other clients are not affected.
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="198.51.100.7").get("/api/jobs/").status_code == 200


@pytest.mark.django_db
def test_keys_are_compared_with_hmac_compare_digest(make_user, monkeypatch):
    user = make_user("timing")
    key, raw = create_key(user, "t")
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert auth.lookup(wrong) is None
    assert auth.lookup(raw) == key
    assert [a for a, _ in calls] == [key.hashed_key, key.hashed_key]
    assert calls[0][1] == auth.hash_key(wrong) and calls[1][1] == auth.hash_key(raw)
