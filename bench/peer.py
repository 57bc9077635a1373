"""Peer baseline: django-tasks with django-tasks-db's `db_worker`, on the same database kind, same N.

The bench installs it into its own virtual environment (bench/.peer-venv), writes a throwaway Django
project into a temporary directory, enqueues N no-op tasks and times one `db_worker` (its defaults,
minus the random start-up sleep) from start until the database shows all of them finished.
"""
import shutil
import sqlite3
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

from bench.common import (
    BENCH_DIR,
    PG_PEER_DB,
    SQLITE_PEER,
    Spawned,
    metric,
    pg_drop,
    pg_params,
    pg_reachable,
    pg_recreate,
    pg_url,
    repeat,
    sqlite_remove,
    wait_until,
)

VENV = BENCH_DIR / ".peer-venv"
PEER_PY = VENV / "bin" / "python"
PINS = ["Django==5.2.19", "django-tasks==0.12.0", "django-tasks-db==0.13.0", "psycopg[binary]==3.3.9"]
TABLE = "django_tasks_database_dbtaskresult"  # the app label is django_tasks_database

SETTINGS = """\
SECRET_KEY = "peer-bench"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django_tasks", "django_tasks_db", "peerapp"]
DATABASES = {{"default": {database}}}
TASKS = {{"default": {{"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

TASKS = """\
from django_tasks import task


@task()
def noop():
    return None
"""

FILL = """\
import sys, uuid
import django
django.setup()
from django_tasks_db.models import DBTaskResult
from peerapp.tasks import noop

DBTaskResult.objects.all().delete()
template = DBTaskResult.objects.get(id=noop.enqueue().id)
rows = []
fields = [f.attname for f in DBTaskResult._meta.concrete_fields if f.attname != "id"]
for _ in range(int(sys.argv[1]) - 1):
    rows.append(DBTaskResult(id=uuid.uuid4(), **{f: getattr(template, f) for f in fields}))
DBTaskResult.objects.bulk_create(rows, batch_size=2000)
print(DBTaskResult.objects.filter(status="READY").count())
"""


def ensure_venv() -> None:
    """Create bench/.peer-venv with the pinned peer packages (once)."""
    if PEER_PY.exists() and subprocess.run([str(PEER_PY), "-c", "import django_tasks_db"],
                                           capture_output=True).returncode == 0:
        return
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PEER_PY), "-m", "pip", "install", "--quiet", *PINS], check=True, timeout=600)


def _database(db: str) -> str:
    if db == "postgres":
        p = pg_params(pg_url(PG_PEER_DB))
        # Persistent connections, as jobqueue's settings have: with Django's default CONN_MAX_AGE=0 the
        # worker's close_old_connections() reconnects twice per task, which would flatter the ratio.
        return repr({"ENGINE": "django.db.backends.postgresql", "NAME": p["dbname"], "USER": p["user"],
                     "PASSWORD": p["password"] or "", "HOST": p["host"], "PORT": str(p["port"]),
                     "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True})
    # The same SQLite settings jobqueue runs with (WAL, synchronous NORMAL, busy timeout, kept connection).
    return repr({"ENGINE": "django.db.backends.sqlite3", "NAME": str(SQLITE_PEER), "CONN_MAX_AGE": None, "OPTIONS": {
        "timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}})


def write_project(db: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="jq-peer-"))
    (root / "peerproj").mkdir()
    (root / "peerproj" / "__init__.py").write_text("")
    (root / "peerproj" / "settings.py").write_text(SETTINGS.format(database=_database(db)))
    (root / "peerapp").mkdir()
    (root / "peerapp" / "__init__.py").write_text("")
    (root / "peerapp" / "tasks.py").write_text(TASKS)
    (root / "fill.py").write_text(FILL)
    (root / "manage.py").write_text(textwrap.dedent("""\
        import sys
        from django.core.management import execute_from_command_line
        execute_from_command_line(sys.argv)
    """))
    return root


def _env(root: Path) -> dict:
    return {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "peerproj.settings", "PYTHONPATH": str(root),
            "PYTHONUNBUFFERED": "1"}


def _unfinished_query(db: str):
    sql = f"SELECT count(*) FROM {TABLE} WHERE status IN ('READY', 'RUNNING')"
    if db == "postgres":
        import psycopg

        conn = psycopg.connect(**pg_params(pg_url(PG_PEER_DB)), autocommit=True)
        return lambda: conn.execute(sql).fetchone()[0], conn.close
    conn = sqlite3.connect(SQLITE_PEER, timeout=20, isolation_level=None)
    return lambda: conn.execute(sql).fetchone()[0], conn.close


def peer_run(ctx, root: Path, n: int, cap: float) -> dict:
    fill = subprocess.run([str(PEER_PY), "fill.py", str(n)], cwd=root, env=_env(root), capture_output=True,
                          text=True, timeout=300)
    if fill.returncode != 0 or int(fill.stdout.strip().splitlines()[-1]) != n:
        raise RuntimeError(f"peer fill failed: {fill.stdout[-500:]}{fill.stderr[-1500:]}")
    unfinished, close = _unfinished_query(ctx.db)
    t0 = time.monotonic()
    worker = Spawned([str(PEER_PY), "manage.py", "db_worker", "--no-startup-delay"], f"{ctx.db}-peer", _env(root),
                     cwd=root)
    try:
        # Ready once it logs its start (the cap counts from there, as for jobqueue's workers).
        ready = wait_until(lambda: "Starting worker" in worker.tail(100_000) or not worker.alive(), 60,
                           what="db_worker to start")
        left = unfinished()
        while left and time.monotonic() - ready < cap:
            time.sleep(0.025)
            left = unfinished()
        done = time.monotonic()
    finally:
        worker.stop()
        close()
    return {"rate": (n - left) / (done - t0), "rate_after_startup": (n - left) / max(done - ready, 1e-6),
            "startup_s": ready - t0, "finished": n - left, "capped": bool(left), "seconds": done - t0}


def run(ctx) -> dict:
    s = ctx.sizes
    ensure_venv()
    if ctx.db == "postgres":
        pg_recreate(PG_PEER_DB)
    else:
        sqlite_remove(SQLITE_PEER)
    root = write_project(ctx.db)
    try:
        subprocess.run([str(PEER_PY), "manage.py", "migrate", "-v", "0"], cwd=root, env=_env(root), check=True,
                       capture_output=True, timeout=300)
        runs = repeat(lambda: peer_run(ctx, root, s.peer_jobs, s.peer_cap), s,
                      warmup=lambda: peer_run(ctx, root, 300, 3.0))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    capped = [r for r in runs if r["capped"]]
    note = (f"{len(capped)}/{len(runs)} runs capped at {s.peer_cap:.0f} s "
            f"({min(r['finished'] for r in capped):,}+ of {s.peer_jobs:,})") if capped else ""
    metrics = [metric(f"django-tasks-db db_worker, 1 process, {s.peer_jobs:,} no-op tasks", "jobs/s",
                      [r["rate"] for r in runs], note=note),
               metric("  same, excluding startup (peer)", "jobs/s", [r["rate_after_startup"] for r in runs]),
               metric("  db_worker startup", "s", [r["startup_s"] for r in runs], better="lower")]
    drain = ctx.results.get("drain", {})
    peer_median = metrics[0]["median"]
    for m in drain.get("metrics", []):
        if m["label"].startswith("drain ") and m["median"] and peer_median:
            processes = m["label"].split(", ")[1].split(" proc")[0]
            if processes == "1":
                metrics.append(metric("ratio jobqueue (1 proc) / peer (1 proc), same N, same database", "x",
                                      [m["median"] / peer_median], goal=">= 10"))
            if processes == str(drain.get("best_processes")):
                metrics.append(metric("ratio jobqueue (best of 1/2/4 proc) / peer (1 proc)", "x",
                                      [m["median"] / peer_median], note=f"best: {processes} worker processes"))
    return {"metrics": metrics, "raw": runs, "versions": dict(p.split("==") for p in PINS)}


def drop_peer_databases() -> None:
    sqlite_remove(SQLITE_PEER)
    if pg_reachable():
        pg_drop(PG_PEER_DB)
