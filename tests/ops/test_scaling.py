"""Autoscaling signals: eligible backlog leaves out paused queues and owners held by max_running;
the suggestion names its rule; /api/stats/ carries them for staff; the documented KEDA query agrees."""
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from queue_app import queues, scaling
from queue_app.models import Quota, Status, Worker
from queue_app.worker.autoscale import ScaleRule

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def _backlog(make_job, make_user, now):
    free, capped, idle = make_user("free"), make_user("capped"), make_user("idle-capped")
    Quota.objects.create(user=capped, max_running=2)
    Quota.objects.create(user=idle, max_running=3)
    for i in range(4):
        make_job(Status.PENDING, owner=free, queue="work", run_at=now - timedelta(seconds=10 + i))
    make_job(Status.FAILED, owner=free, queue="work", attempts=1, run_at=now - timedelta(seconds=1))
    make_job(Status.PENDING, owner=free, queue="work", run_at=now + timedelta(hours=1))  # not due
    # `capped` is at its cap (2 running): its 3 ready jobs are held back.
    for _ in range(2):
        make_job(Status.RUNNING, owner=capped, queue="work")
    for _ in range(3):
        make_job(Status.PENDING, owner=capped, queue="work", run_at=now - timedelta(minutes=5))
    # `idle` may run 3 and has 5 ready: 3 eligible, 2 held back.
    for _ in range(5):
        make_job(Status.PENDING, owner=idle, queue="work", run_at=now - timedelta(seconds=2))
    for _ in range(2):
        make_job(Status.PENDING, owner=free, queue="frozen", run_at=now - timedelta(minutes=1))
    queues.pause("frozen")
    return free


def test_eligible_backlog_leaves_out_paused_and_capped(make_job, make_user):
    now = timezone.now()
    _backlog(make_job, make_user, now)
    s = scaling.signals(now)
    work, frozen = s["queues"]["work"], s["queues"]["frozen"]
    assert (work["ready"], work["eligible"], work["held_back"], work["paused"]) == (13, 8, 5, False)
    assert (frozen["ready"], frozen["eligible"], frozen["held_back"], frozen["paused"]) == (2, 0, 2, True)
    assert s["eligible_backlog"] == 8
    # The capped owner's 5-minute-old jobs are not eligible: the oldest eligible waited ~13 s.
    assert 13 <= work["oldest_eligible_wait_seconds"] < 60
    assert work["oldest_ready_age_seconds"] >= 300
    assert scaling.eligible_backlog(["work"], now, limit=3) == 0  # 3 ready rows seen, 5 held: a lower bound
    assert scaling.eligible_backlog(["frozen"], now) == 0


def test_retry_pressure_utilisation_and_the_rule(make_job, make_user):
    now = timezone.now()
    _backlog(make_job, make_user, now)
    from collections import Counter

    from queue_app import tallies
    tallies.record(Counter({("failed", "work"): 6, ("completed", "work"): 14}), now)
    for i, (slots, busy) in enumerate([(4, 2), (4, 4)]):
        Worker.objects.create(id=f"w{i}", hostname="h", pid=i, concurrency=slots, busy=busy, started_at=now,
                              last_heartbeat=now)
    Worker.objects.create(id="gone", hostname="h", pid=9, concurrency=8, busy=8, started_at=now,
                          last_heartbeat=now - timedelta(hours=1))
    s = scaling.signals(now)
    assert s["retry_pressure"]["failed_attempts"] == 6 and s["retry_pressure"]["attempts"] == 20
    assert s["retry_pressure"]["failed_share"] == 0.3 and s["retry_pressure"]["failed_per_minute"] == 1.2
    assert s["workers"] == {"online": 2, "slots": 8, "busy": 6, "utilisation": 0.75}
    # (6 busy + 8 eligible) / 4 slots per worker = 3.5 -> 4
    assert s["suggested_workers"] == 4
    assert "busy 6 + eligible backlog 8" in s["rule"] and "4 slots per worker" in s["rule"]


def test_nothing_to_do_suggests_zero():
    n, rule = scaling.suggest(0, None, {"online": 3, "slots": 6, "busy": 0})
    assert n == 0 and "scale to zero" in rule


def test_a_long_wait_asks_for_one_more_worker():
    n, rule = scaling.suggest(1, 120.0, {"online": 2, "slots": 8, "busy": 3})
    assert n == 3 and "waited 120 s" in rule


def test_staff_stats_carry_the_signals(make_job, make_user, staff_api):
    _backlog(make_job, make_user, timezone.now())
    body = staff_api.get("/api/stats/").json()["autoscaling"]
    assert body["eligible_backlog"] == 8 and body["queues"]["frozen"]["paused"] is True
    assert {"retry_pressure", "workers", "suggested_workers", "rule", "oldest_eligible_wait_seconds"} <= set(body)


def test_documented_keda_query_is_the_real_one(make_job, make_user):
    text = " ".join(DOCS.read_text().split())
    assert " ".join(scaling.keda_query("default").split()) in text
    if connection.vendor != "postgresql":
        pytest.skip("the KEDA query is PostgreSQL text")
    now = timezone.now()
    _backlog(make_job, make_user, now)
    with connection.cursor() as cursor:
        cursor.execute(scaling.keda_query("work"))
        assert cursor.fetchone()[0] == scaling.eligible_backlog(["work"], now) == 8


class TestScaleRule:
    def test_grows_at_once_and_clamps_to_max(self):
        rule = ScaleRule(1, 4, window=10, start=0)
        assert rule.target(0.5, 3, 1) == 3
        assert rule.target(1.0, 50, 3) == 4

    def test_shrinks_only_after_a_quiet_window_to_the_window_peak(self):
        rule = ScaleRule(1, 8, window=10, start=0)
        assert rule.target(0, 8, 1) == 8
        assert rule.target(5, 2, 8) == 8  # inside the window: hold
        assert rule.target(9, 0, 8) == 8
        assert rule.target(10.5, 0, 8) == 2  # the peak of the last 10 s was 2
        assert rule.target(12, 0, 2) == 2  # cool-down after the change
        assert rule.target(21, 0, 2) == 1

    def test_a_queue_that_empties_and_refills_never_flaps(self):
        rule = ScaleRule(1, 6, window=5, start=0)
        sizes, size = [], 1
        for step in range(200):  # 20 s: demand alternates 6 and 0 every second
            tick = step / 10
            size = rule.target(tick, 6 if int(tick) % 2 == 0 else 0, size)
            sizes.append(size)
        assert sizes[0] == 6 and set(sizes) == {6}
