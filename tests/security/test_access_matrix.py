"""9. Access matrix: users A and B and a staff user over every API endpoint, dashboard page and admin page.

Every URL pattern of the project (outside the admin) is called by B, with A's objects filled in and,
for comparison, with objects that do not exist: B must get the same answer for both (404, or 405 for
a method the URL never takes), never a 2xx, and no response to B may contain A's job ids, payloads or
results. Lists, filters, stats and search never show B another user's jobs. The admin answers
non-staff with its login page, and staff-only API fields never reach non-staff.
"""
import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from queue_app.models import Status

SKIP = ("admin/", "accounts/logout/", "accounts/login/", "api/schema/", "api/docs/")
GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
ROUTE = re.compile(r"<(?:\w+:)?(?P<name>\w+)>")


def _patterns(resolver=None, prefix=""):
    for p in (resolver or get_resolver()).url_patterns:
        text = prefix + str(p.pattern).lstrip("^").replace("$", "").replace("\\Z", "")
        if isinstance(p, URLResolver):
            yield from _patterns(p, text)
        elif isinstance(p, URLPattern):
            yield text


def _concrete(pattern: str, values: dict) -> str | None:
    """Fill the pattern's parameters; None when it has a format suffix or cannot be filled."""
    if "(?P<format>" in pattern or "\\." in pattern:
        return None
    filled = GROUP.sub(lambda m: values(m.group("name")), pattern)
    filled = ROUTE.sub(lambda m: values(m.group("name")), filled)
    if any(ch in filled for ch in "()[]?*+\\"):
        return None
    return "/" + filled


def _value_for(world, existing: bool):
    job = world["jobs"][Status.PENDING]

    def value(name: str) -> str:
        name = name.lower()
        if "key" in name:
            return str(world["a_key"].pk) if existing else "987654321"
        if "user" in name:
            return world["a"].user.username if existing else "nobody-at-all"
        if name in ("queue", "name"):
            return "alice-q" if existing else "no-such-queue"
        return str(job.pk) if existing else str(uuid.UUID(int=uuid.uuid4().int))

    return value


def _leaks(world, body: bytes) -> list[str]:
    text = body.decode(errors="replace")
    found = [str(j.pk) for j in world["jobs"].values() if str(j.pk) in text or j.pk.hex in text]
    found += [s for s in ("alice-payload", "alice-result") if s in text]
    return found


def _urls(world):
    urls = []
    for pattern in _patterns():
        if pattern.startswith(SKIP):
            continue
        mine = _concrete(pattern, _value_for(world, True))
        other = _concrete(pattern, _value_for(world, False))
        if mine:
            urls.append((pattern, mine, other if other != mine else None))
    return urls


@pytest.mark.django_db
def test_b_gets_the_same_not_found_for_as_objects_as_for_missing_ones_everywhere(world):
    b = world["b"]
    checked = 0
    for pattern, mine, other in _urls(world):
        for client_name, client in (("api", b.api), ("web", b.web)):
            for method in ("get", "post", "delete"):
                call = getattr(client, method)
                r_mine = call(mine, data={} if method == "post" else None, content_type="application/json") \
                    if method == "post" else call(mine)
                assert r_mine.status_code < 500, (pattern, client_name, method, r_mine.status_code)
                assert not _leaks(world, r_mine.content), (pattern, client_name, method, r_mine.content[:300])
                if other is None:
                    continue
                r_other = call(other, data={}, content_type="application/json") if method == "post" else call(other)
                assert r_mine.status_code == r_other.status_code, (pattern, client_name, method)
                assert not 200 <= r_mine.status_code < 300, (pattern, client_name, method, r_mine.status_code)
                checked += 1
    assert checked >= 6  # the API's detail, cancel and retry URLs at least
    for job in world["jobs"].values():
        before = (job.status, job.attempts)
        job.refresh_from_db()
        assert (job.status, job.attempts) == before, "B changed A's job"


@pytest.mark.django_db
def test_as_job_urls_answer_b_with_a_json_404(world):
    b = world["b"]
    for job in world["jobs"].values():
        for method, url in (("get", f"/api/jobs/{job.pk}/"), ("post", f"/api/jobs/{job.pk}/cancel/"),
                            ("post", f"/api/jobs/{job.pk}/retry/")):
            response = getattr(b.api, method)(url)
            assert response.status_code == 404, (url, response.status_code)
            assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?queue=alice-q", "?status=PENDING,RUNNING,DONE,FAILED,DLQ,CANCELLED",
                                   "?task=demo.echo", "?page_size=200"])
def test_lists_filters_and_search_never_show_b_as_jobs(world, query):
    b = world["b"]
    response = b.api.get("/api/jobs/" + query)
    assert response.status_code == 200
    assert response.json()["results"] == []
    for job in world["jobs"].values():
        prefix = job.pk.hex[:12]
        search = b.api.get(f"/api/jobs/?id={prefix}")
        assert search.status_code == 200 and search.json()["results"] == []


@pytest.mark.django_db
def test_stats_and_quota_count_only_the_callers_jobs(world):
    b = world["b"]
    stats = b.api.get("/api/stats/")
    assert stats.status_code == 200
    body = stats.json()
    assert "per_user" not in body and "autoscaling" not in body  # staff-only parts
    assert "alice" not in stats.content.decode()
    counts = list(_numbers({k: v for k, v in body.items() if k != "count_cap"}))
    assert sum(counts) == 0, body
    quota = b.api.get("/api/quota/").json()
    assert quota["username"] == "bob" and quota["usage"]["active"] == 0


def _numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)


@pytest.mark.django_db
def test_staff_sees_everyone_and_gets_the_staff_only_parts(world):
    staff = world["staff"]
    job = world["jobs"][Status.PENDING]
    assert staff.api.get(f"/api/jobs/{job.pk}/").status_code == 200
    assert "per_user" in staff.api.get("/api/stats/").json()


@pytest.mark.django_db
def test_the_admin_is_staff_only(world, client):
    job = world["jobs"][Status.PENDING]
    urls = ["/admin/", "/admin/queue_app/job/", f"/admin/queue_app/job/{job.pk}/change/",
            "/admin/queue_app/apikey/", "/admin/queue_app/quota/", "/admin/auth/user/"]
    for who in (world["b"].web, world["a"].web, client):
        for url in urls:
            response = who.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], (url, response.status_code)
        action = who.post("/admin/queue_app/job/", {"action": "delete_selected", "_selected_action": [str(job.pk)]})
        assert action.status_code == 302 and "/admin/login/" in action["Location"]
    job.refresh_from_db()
    assert job.status == Status.PENDING
    assert world["staff"].web.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_b_cannot_pause_queues_or_act_on_as_dead_letters(world):
    from queue_app.models import PausedQueue

    b = world["b"]
    for client in (b.api, b.web):
        for url in ("/api/queues/alice-q/pause/", "/queues/alice-q/pause/"):
            response = client.post(url)
            to_login = response.status_code == 302 and "/login/" in response["Location"]
            assert response.status_code in (403, 404) or to_login, (url, response.status_code)
    assert not PausedQueue.objects.exists()
    dead = world["jobs"][Status.DLQ]
    for do in ("redrive:selected", "discard:selected", "redrive:matching", "discard:matching"):
        response = b.web.post("/dlq/action/", {"do": do, "ids": [str(dead.pk)]})
        assert response.status_code < 500
        assert not _leaks(world, response.content)
    dead.refresh_from_db()
    assert dead.status == Status.DLQ and dead.attempts == 4
