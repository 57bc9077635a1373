"""Quota exactness against a real server: 4 gunicorn processes, 8 concurrent clients, 300 submissions."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from queue_app.models import Job
from queue_app.quotas import quota_row

SUBMISSIONS, CLIENTS, BURST = 300, 8, 100


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_burst_is_exact_across_gunicorn_processes(gunicorn_factory, make_user_with_key):
    user, raw = make_user_with_key("burster")
    quota = quota_row(user, lock=False)
    quota.burst, quota.rate_per_minute = BURST, 1  # refills one token a minute: nothing meaningful during the test
    quota.save()
    url = gunicorn_factory(workers=4)
    local = threading.local()

    def submit(i: int) -> tuple[int, str | None, dict]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {raw}"
        response = local.session.post(f"{url}/api/jobs/", json={"task": "demo.echo", "payload": {"i": i}}, timeout=60)
        return response.status_code, response.headers.get("Retry-After"), response.json()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(submit, range(SUBMISSIONS)))
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {201: BURST, 429: SUBMISSIONS - BURST}, statuses
    for status, retry_after, body in results:
        if status == 429:
            assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1
            assert body["error"]["code"] == "rate_limited" and body["error"]["limit"] == "rate_per_minute"
            assert body["error"]["limit_value"] == 1
    assert Job.objects.filter(owner=user).count() == BURST
    accepted = sorted(body["payload"]["i"] for status, _, body in results if status == 201)
    assert len(set(accepted)) == BURST
