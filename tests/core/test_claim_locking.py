"""Claims from several real database connections at once never share a job."""
import threading

import psycopg
import pytest
from django.db import connection, connections

from queue_app import lifecycle
from queue_app.errors import InvalidTransition
from queue_app.models import Job, Status
from tests import procs

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_claimers_never_share_a_job(make_job, make_user):
    owner = make_user()
    for _ in range(60):
        make_job(owner=owner)
    start = threading.Barrier(4)
    taken: dict[str, list] = {}
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        mine = taken.setdefault(name, [])
        try:
            start.wait()
            while batch := lifecycle.claim(name, None, 3, 30):
                mine.extend(c.id for c in batch)
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer, args=(f"claimer-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = [job_id for got in taken.values() for job_id in got]
    assert len(ids) == len(set(ids)) == 60
    assert Job.objects.filter(status=Status.RUNNING).count() == 60
    owners = dict(Job.objects.values_list("id", "lease_owner"))
    assert all(owners[job_id] == name for name, got in taken.items() for job_id in got)


def test_claim_skips_rows_locked_by_another_transaction(make_job, make_user):
    """PostgreSQL: FOR UPDATE SKIP LOCKED passes over a row another transaction holds, without waiting."""
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serializes writers with IMMEDIATE transactions")
    owner = make_user()
    first = make_job(owner=owner, priority=10)
    second = make_job(owner=owner, priority=0)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '5s'")  # a claim that blocked would fail, not hang
    try:
        with psycopg.connect(procs.database_url().replace("postgres://", "postgresql://", 1)) as other:
            other.execute("SELECT id FROM queue_app_job WHERE id = %s FOR UPDATE", [first.id])
            claimed = lifecycle.claim("w", None, 2, 30)
            assert [c.id for c in claimed] == [second.id]
            other.rollback()
        claimed = lifecycle.claim("w", None, 2, 30)
        assert [c.id for c in claimed] == [first.id]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")


def test_cancel_racing_a_claim_is_refused_not_reported_done(make_job):
    """PostgreSQL: a claim that commits while cancel waits on the row wins, and cancel says so.

    (SQLite serializes the two writers outright, so the interleaving cannot happen there.)
    """
    if connection.vendor != "postgresql":
        pytest.skip("the interleaving needs row locks; SQLite serializes writers with IMMEDIATE transactions")
    job = make_job()
    outcome: dict[str, object] = {}

    def canceller() -> None:
        try:
            lifecycle.cancel(Job.objects.get(pk=job.pk))
            outcome["cancelled"] = True
        except InvalidTransition as exc:
            outcome["refused"] = exc
        finally:
            connections.close_all()

    def cancel_is_waiting() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            return cursor.fetchone()[0] > 0

    with psycopg.connect(procs.database_url().replace("postgres://", "postgresql://", 1)) as claimer:
        claimer.execute("SELECT id FROM queue_app_job WHERE id = %s FOR UPDATE", [job.pk])
        thread = threading.Thread(target=canceller)
        thread.start()
        procs.wait_until(cancel_is_waiting, timeout=10, message="cancel waiting on the row lock")
        claimer.execute("UPDATE queue_app_job SET status = 'RUNNING', attempts = 1, lease_token = %s, "
                        "lease_owner = 'racer', lease_expires_at = now() + interval '30 seconds', "
                        "started_at = now() WHERE id = %s", ["r" * 32, job.pk])
        claimer.commit()
        thread.join(30)
    assert "refused" in outcome, outcome
    row = Job.objects.get(pk=job.pk)
    assert row.status == Status.RUNNING and row.lease_owner == "racer"
