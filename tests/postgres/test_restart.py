"""Resilience: a PostgreSQL restart (-m immediate) under load loses nothing; the API answers 503 JSON."""
import json
import socket
import sys
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from tests import procs
from tests.postgres.cluster import Cluster

SETUP = """
from django.contrib.auth import get_user_model
from django.utils import timezone
from queue_app.models import Job
u = get_user_model().objects.create_user("restart")
now = timezone.now()
Job.objects.bulk_create([Job(owner=u, task="demo.sleep", payload={"seconds": 0.05}, run_at=now, created_at=now,
                             updated_at=now, max_retries=5) for i in range(300)])
"""


@pytest.fixture
def cluster():
    c = Cluster().init()
    c.start()
    yield c
    c.destroy()


def _query(url: str, sql: str):
    with psycopg.connect(url, connect_timeout=3) as conn:
        return conn.execute(sql).fetchall()


def _count(url: str, sql: str) -> int:
    try:
        return _query(url, sql)[0][0]
    except psycopg.OperationalError:
        return -1


def test_workers_survive_an_immediate_restart_and_lose_nothing(cluster, tmp_path):
    env = procs.env(DATABASE_URL=cluster.url, JOBQUEUE_LOG_LEVEL="INFO")
    assert procs.manage("migrate", "-v0", environ=env).returncode == 0
    made = procs.manage("shell", "-c", SETUP, environ=env)
    assert made.returncode == 0, made.stderr
    workers = [procs.Proc([sys.executable, "manage.py", "runworker", "--concurrency", "4", "--lease-seconds", "3",
                           "--poll-interval", "0.05"], tmp_path / f"w{i}.log", env) for i in range(2)]
    try:
        done_sql = "SELECT count(*) FROM queue_app_job WHERE status = 'DONE'"
        procs.wait_until(lambda: _count(cluster.url, done_sql) >= 60, timeout=120, message="some jobs done")
        cluster.restart("immediate", down_seconds=2)
        procs.wait_until(lambda: _count(cluster.url, done_sql) == 300, timeout=240, interval=0.5,
                         message="every job done after the restart")
        for w in workers:
            assert w.popen.poll() is None, "a worker died with the database:\n" + w.output()[-2000:]
        logs = "".join(w.output() for w in workers)
        assert "database unavailable" in logs, "the outage was not logged"
        # Exactly one successful attempt per job; a job that ran twice lost its first lease first.
        twice = _query(cluster.url, "SELECT job_id FROM queue_app_jobattempt WHERE outcome = 'done' "
                                    "GROUP BY job_id HAVING count(*) > 1")
        assert twice == []
        overlapping = _query(cluster.url, """
            SELECT count(*) FROM queue_app_jobattempt a JOIN queue_app_jobattempt b
              ON a.job_id = b.job_id AND a.id < b.id
             WHERE a.outcome NOT IN ('lease_expired', 'released') AND b.started_at < a.finished_at""")
        assert overlapping == [(0,)]
    finally:
        for w in workers:
            w.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, key: str | None = None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_api_answers_503_json_while_the_database_is_down(cluster, tmp_path):
    env = procs.env(DATABASE_URL=cluster.url)
    assert procs.manage("migrate", "-v0", environ=env).returncode == 0
    key = procs.manage("create_api_key", "outage", "--create-user", environ=env).stdout.strip().splitlines()[-1]
    port = _free_port()
    web = procs.Proc([sys.executable, "-m", "gunicorn", "jobqueue.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
                     tmp_path / "web.log", env)
    base = f"http://127.0.0.1:{port}"
    try:
        procs.wait_until(lambda: _port_open(port), timeout=30, message="gunicorn listening")
        assert _get(f"{base}/api/jobs/", key)[0] == 200
        cluster.stop("immediate")
        status, headers, body = _get(f"{base}/api/jobs/", key)
        assert status == 503
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(body)["error"]["code"] == "database_unavailable"
        assert _get(f"{base}/healthz")[0] == 200
        assert _get(f"{base}/readyz")[0] == 503
        cluster.start()
        procs.wait_until(lambda: _get(f"{base}/api/jobs/", key)[0] == 200, timeout=30, message="API back")
    finally:
        web.stop()


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        time.sleep(0.1)
        return False
