"""Shared pieces of the benchmark: sizes, statistics, bench databases, raw bulk inserts, processes."""
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
VAR = ROOT / "var" / "bench"
PY = sys.executable
PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
PG_BENCH_DB = "jq_bench"
PG_PEER_DB = "jq_bench_peer"
SQLITE_BENCH = VAR / "bench.sqlite3"
SQLITE_PEER = VAR / "peer.sqlite3"

# Quotas stay on (every submit still locks the quota row, counts active jobs and takes a token),
# with limits high enough that the benchmark measures throughput rather than the limits.
QUOTA_ENV = {
    "JOBQUEUE_RATE_PER_MINUTE": "100000000",
    "JOBQUEUE_BURST": "100000000",
    "JOBQUEUE_MAX_ACTIVE": "100000000",
}


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does. Every timed wait has a cap so `make bench` stays bounded
    however slow a build is; a capped figure says so. --quick shrinks everything for a smoke run."""

    quick: bool = False
    runs: int = 3
    submit_one: int = 2000
    submit_bulk: int = 20000
    submit_cap: float = 3.0
    http_seconds: float = 3.0
    drain_jobs: int = 20000
    drain_processes: tuple = (1, 2, 4)
    drain_cap: float = 6.0
    concurrency: int = 4
    pickup_jobs: int = 200
    pickup_rate: float = 20.0
    growth_rows: int = 1_000_000
    growth_processes: int = 2
    claim_samples: int = 200
    memory_jobs: int = 100_000
    memory_cap: float = 30.0
    peer_jobs: int = 20000
    peer_cap: float = 10.0

    @classmethod
    def for_mode(cls, quick: bool) -> "Sizes":
        if not quick:
            return cls()
        return cls(quick=True, runs=1, submit_one=300, submit_bulk=3000, http_seconds=2.0, drain_jobs=3000,
                   drain_cap=5.0, pickup_jobs=30, growth_rows=50_000, claim_samples=100, memory_jobs=5000,
                   memory_cap=15.0, peer_jobs=1000, peer_cap=10.0)


# --- statistics -------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = (len(data) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def metric(label: str, unit: str, runs: list[float], *, goal: str = "", better: str = "higher",
           note: str = "") -> dict:
    """One figure: the median of its runs with min-max, the unit and the goal it is held to."""
    clean = [r for r in runs if r == r]
    return {
        "label": label, "unit": unit, "runs": [round(r, 3) for r in runs], "goal": goal, "better": better,
        "note": note,
        "median": round(statistics.median(clean), 3) if clean else None,
        "min": round(min(clean), 3) if clean else None,
        "max": round(max(clean), 3) if clean else None,
    }


def repeat(fn, sizes: Sizes, *, warmup=None) -> list:
    """Run `warmup` (or `fn`) once untimed, then `fn` sizes.runs times; returns the runs' results."""
    if not sizes.quick:
        (warmup or fn)()
    return [fn() for _ in range(sizes.runs)]


# --- bench databases --------------------------------------------------------------------------
def pg_params(url: str) -> dict:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    return {"dbname": cfg["NAME"], "user": cfg["USER"], "password": cfg["PASSWORD"] or None,
            "host": cfg["HOST"] or "127.0.0.1", "port": cfg["PORT"] or 5432}


def pg_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(**pg_params(PG_SERVER_URL), connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def pg_url(dbname: str) -> str:
    p = pg_params(PG_SERVER_URL)
    auth = p["user"] + (f":{p['password']}" if p["password"] else "")
    return f"postgres://{auth}@{p['host']}:{p['port']}/{dbname}"


def pg_recreate(dbname: str) -> None:
    """Drop and create a throwaway database on the bench PostgreSQL server."""
    import psycopg

    with psycopg.connect(**pg_params(PG_SERVER_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def pg_drop(dbname: str) -> None:
    import psycopg

    with psycopg.connect(**pg_params(PG_SERVER_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def sqlite_remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def bench_env(database_url: str, **extra) -> dict:
    """The environment of every bench process: the bench database, high quotas, logs at INFO."""
    # Bytecode caching stays on, as in a deployment: without it every worker start recompiles Django.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "JOBQUEUE_TEST")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(QUOTA_ENV)
    env.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "jobqueue.settings",
                "PYTHONUNBUFFERED": "1", "JOBQUEUE_VAR_DIR": str(VAR / "var")})
    env.update({k: str(v) for k, v in extra.items()})
    return env


# --- processes --------------------------------------------------------------------------------
LIVE: list["Spawned"] = []  # every started process, so an interrupted run can kill what it started


def kill_all_spawned() -> None:
    """SIGKILL the process group of every process this run started and that may still be alive."""
    for spawned in list(LIVE):
        try:
            os.killpg(spawned.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def stop_many(procs: list["Spawned"], timeout: float = 10) -> None:
    """SIGTERM them all at once (graceful: running jobs are released), wait together, SIGKILL the rest."""
    for p in procs:
        if p.alive():
            try:
                os.killpg(p.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        p.stop(timeout=0.1)


class Spawned:
    """A subprocess in its own process group, its output in a log file under var/bench/logs."""

    def __init__(self, args: list[str], name: str, env: dict, cwd: Path = ROOT):
        logs = VAR / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"{name}.log"
        self._fh = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.started = time.monotonic()
        self.popen = subprocess.Popen(args, cwd=cwd, env=env, stdout=self._fh, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        LIVE.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (graceful), then SIGKILL the whole group if it lingers."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._fh.close()
        if self in LIVE:
            LIVE.remove(self)

    def tail(self, n: int = 2000) -> str:
        self._fh.flush()
        return self.log_path.read_text(errors="replace")[-n:]


def manage(*args: str, env: dict, timeout: float = 300) -> str:
    """Run a management command of jobqueue to completion; returns its stdout."""
    done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def wait_until(predicate, timeout: float, interval: float = 0.02, what: str = "condition") -> float:
    """Poll until predicate() is truthy; returns the monotonic time it became so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- rows -------------------------------------------------------------------------------------
def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def bench_user(username: str = "bench", staff: bool = False):
    """The user that owns bench jobs (created once)."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": staff,
                                                                                 "is_superuser": staff})
    return user


def _id_sql(vendor: str) -> str:
    """A UUIDv7-shaped id for generated row n: a millisecond clock falling with n, version 7, variant, random."""
    if vendor == "postgresql":
        return ("(lpad(to_hex(%s::bigint - n), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' "
                "|| substr(md5(random()::text || n::text), 1, 15))::uuid")
    return ("printf('%%012x', %s - n) || '7' || substr(lower(hex(randomblob(2))), 1, 3) || '8' "
            "|| substr(lower(hex(randomblob(8))), 1, 15)")


def _ts_sql(vendor: str) -> str:
    """A timestamp (step * n) seconds before a base timestamp (two parameters: base, step)."""
    if vendor == "postgresql":
        return "(%s::timestamptz - make_interval(secs => %s * n))"
    return "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, printf('-%%.3f seconds', %s * n))"


def insert_jobs(n: int, *, status: str = "PENDING", task: str = "demo.echo", queue: str = "default",
                spread_seconds: float = 0.0, owner=None, now: datetime | None = None) -> None:
    """Insert n valid jobs with one INSERT ... SELECT over a generated series (no ORM per row).

    PENDING rows are due now. Terminal rows (DONE, DLQ, CANCELLED) have run once and carry finished
    timestamps; with spread_seconds their creation times reach back that far, newest first.
    """
    from django.db import connection, transaction

    from queue_app.models import Job

    vendor = connection.vendor
    owner = owner or bench_user()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    step = spread_seconds / max(n, 1)
    stamp = now.isoformat() if vendor == "postgresql" else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    terminal = status != "PENDING"
    ts = _ts_sql(vendor)
    finished = ts if terminal else "NULL"
    payload = "'{\"n\": ' || n || '}'"
    result = payload if status == "DONE" else "NULL"
    if vendor == "postgresql":
        payload, result = f"({payload})::jsonb", (f"({result})::jsonb" if status == "DONE" else "NULL")
        prefix, source = "", "generate_series(1, %s) AS g(n)"
    else:
        prefix, source = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s) ", "seq"
    cols = ("id, owner_id, queue, task, payload, status, priority, run_at, attempts, max_retries, "
            "timeout_seconds, last_error, request_fingerprint, created_at, updated_at, started_at, finished_at, "
            "result")
    sql = (f"{prefix}INSERT INTO {connection.ops.quote_name(Job._meta.db_table)} ({cols}) "
           f"SELECT {_id_sql(vendor)}, %s, %s, %s, {payload}, %s, 0, {ts}, {1 if terminal else 0}, 3, 300, "
           f"'', '', {ts}, {ts}, {finished}, {finished}, {result} FROM {source}")
    params = [int(now.timestamp() * 1000), owner.pk, queue, task, status] + [stamp, step] * (5 if terminal else 3)
    params = params + [n] if vendor == "postgresql" else [n, *params]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def clear_active() -> None:
    """Delete jobs left unfinished by a capped run, so the next run counts only its own."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM queue_app_jobattempt WHERE job_id IN (SELECT id FROM queue_app_job "
                       "WHERE status IN ('PENDING', 'RUNNING', 'FAILED'))")
        cursor.execute("DELETE FROM queue_app_job WHERE status IN ('PENDING', 'RUNNING', 'FAILED')")


def reset_jobs() -> None:
    """Empty the job and attempt tables (between runs that must start from an empty table)."""
    from django.db import connection, transaction

    from queue_app.models import Job, JobAttempt, Worker

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (JobAttempt, Job, Worker):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def count_active() -> int:
    """Jobs not yet finished (PENDING, RUNNING or FAILED awaiting a retry)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queue_app_job WHERE status IN ('PENDING', 'RUNNING', 'FAILED')")
        return cursor.fetchone()[0]


def count_status(status: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queue_app_job WHERE status = %s", [status])
        return cursor.fetchone()[0]
