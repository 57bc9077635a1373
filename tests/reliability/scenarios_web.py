"""Reliability scenarios through the real web server (run by `make chaos` / `make soak`).

5 crash durability, 6 idempotent submission under lost responses, 7 database lock storms, 8 soak.
Each returns a dict of figures.
"""
import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from http.client import HTTPException
from pathlib import Path

from django.db import connection

from queue_app.auth import create_key
from queue_app.models import TERMINAL, Job
from tests import procs
from tests.reliability import ledger
from tests.reliability.fleet import Fleet, chaos_env, unfinished, unlimited_user
from tests.reliability.web import DroppingProxy, Gunicorn, post_json, rss_kib


def _client(name: str):
    user = unlimited_user(name)
    _, raw = create_key(user, "chaos")
    return user, raw


def _burst(port: int, key: str, stop: threading.Event, accepted: list, statuses: Counter, lock: threading.Lock,
           queue: str, payload: dict | None = None, task: str = "demo.echo", pause: float = 0.0) -> None:
    while not stop.is_set():
        try:
            status, body = post_json(port, "/api/jobs/", {"task": task, "queue": queue, "payload": payload or {}},
                                     key, timeout=10)
        except (OSError, HTTPException):  # the server was killed mid-request, or refused the connection
            with lock:
                statuses["connection_error"] += 1
            time.sleep(0.01)
            continue
        with lock:
            statuses[status] += 1
            if status == 201:
                accepted.append(body["id"])
        if pause:
            time.sleep(pause)


def _log_text(paths) -> str:
    return "".join(Path(p).read_text(errors="replace") for p in paths if Path(p).exists())


def crash_durability(work_dir: Path, *, rounds: int = 20, clients: int = 8) -> dict:
    """5: SIGKILL gunicorn and the workers mid-burst, `rounds` times; the file stays intact, every 201 is there."""
    rng = random.Random()
    user, key = _client(f"crash-{rng.randrange(10**9)}")
    queue = f"crash-{rng.randrange(10**9)}"
    accepted: list = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    checks, logs = [], []
    (work_dir / "logs").mkdir(exist_ok=True)
    for n in range(rounds):
        web = Gunicorn(work_dir / f"gunicorn-{n}.log", workers=2)
        fleet = Fleet(2, ["--queues", queue, "--concurrency", "2", "--poll-interval", "0.05"], chaos_env(work_dir),
                      work_dir / "logs")
        stop = threading.Event()
        threads = [threading.Thread(target=_burst, args=(web.port, key, stop, accepted, statuses, lock, queue))
                   for _ in range(clients)]
        try:
            for t in threads:
                t.start()
            # The burst is under way once the server has answered a write; kill 1-3 s later.
            before = len(accepted)
            procs.wait_until(lambda: len(accepted) > before, timeout=60, interval=0.02, message="a first 201")
            time.sleep(rng.uniform(1.0, 3.0))
            web.kill()  # the whole server, master and workers, mid-write
            for proc in fleet.procs:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
            fleet.close()
            web.stop()
        logs.append(web.proc.log)
        if connection.vendor == "sqlite":
            raw = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
            checks.append(raw.execute("PRAGMA integrity_check").fetchone()[0])
            raw.close()
    present = set()
    for chunk in range(0, len(accepted), 500):
        present |= {str(pk) for pk in Job.objects.filter(pk__in=accepted[chunk:chunk + 500])
                    .values_list("pk", flat=True)}
    text = _log_text(logs)
    return dict(database=connection.vendor, rounds=rounds, accepted_201=len(accepted),
                missing_after_crash=len(set(accepted) - present),
                integrity_checks_ok=sum(1 for c in checks if c == "ok"), integrity_checks=len(checks),
                statuses={str(k): v for k, v in statuses.items()}, server_errors=sum(
                    v for k, v in statuses.items() if isinstance(k, int) and k >= 500),
                database_locked_errors=text.count("database is locked"))


def idempotent_lost_responses(work_dir: Path, *, keys: int = 500, clients: int = 4, drop_rate: float = 0.1) -> dict:
    """6: responses dropped 10% of the time; clients retry with the same Idempotency-Key until answered."""
    rng = random.Random()
    user, api_key = _client(f"idem-{rng.randrange(10**9)}")
    queue = f"idem-{rng.randrange(10**9)}"
    web = Gunicorn(work_dir / "gunicorn-idem.log", workers=2)
    proxy = DroppingProxy(web.port, drop_rate, seed=rng.randrange(10**9))
    names = [f"key-{rng.randrange(10**12)}-{i}" for i in range(keys)]
    answers: dict[str, set] = {}
    tries: Counter = Counter()
    statuses: Counter = Counter()
    lock = threading.Lock()

    def run(part: list[str]) -> None:
        for name in part:
            while True:
                with lock:
                    tries[name] += 1
                try:
                    status, body = post_json(proxy.port, "/api/jobs/", {"task": "demo.echo", "queue": queue,
                                                                        "payload": {"k": name}}, api_key,
                                             {"Idempotency-Key": name}, timeout=10)
                except (OSError, HTTPException):  # a dropped response: retry with the same key
                    continue
                with lock:
                    statuses[status] += 1
                    answers.setdefault(name, set()).add(body.get("id"))
                if status in (200, 201):
                    break
                time.sleep(0.05)

    t0 = time.monotonic()
    try:
        threads = [threading.Thread(target=run, args=(names[i::clients],)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    finally:
        proxy.close()
        web.stop()
    created = Job.objects.filter(owner=user, queue=queue).count()
    distinct = Job.objects.filter(owner=user, queue=queue).values("idempotency_key").distinct().count()
    return dict(database=connection.vendor, distinct_keys=keys, jobs_created=created, distinct_keys_in_db=distinct,
                requests=sum(tries.values()), retries=sum(tries.values()) - keys, dropped=proxy.dropped,
                keys_with_two_ids=sum(1 for ids in answers.values() if len(ids) > 1),
                statuses={str(k): v for k, v in statuses.items()}, seconds=round(time.monotonic() - t0, 1))


def lock_storm(work_dir: Path, *, seconds: float = 20, clients: int = 8, web_workers: int = 4,
               workers: int = 4) -> dict:
    """7: 4 gunicorn workers taking submissions at full speed while 4 workers drain."""
    rng = random.Random()
    user, key = _client(f"storm-{rng.randrange(10**9)}")
    queue = f"storm-{rng.randrange(10**9)}"
    (work_dir / "logs").mkdir(exist_ok=True)
    web = Gunicorn(work_dir / "gunicorn-storm.log", workers=web_workers)
    fleet = Fleet(workers, ["--queues", queue, "--concurrency", "2", "--poll-interval", "0.05"],
                  chaos_env(work_dir), work_dir / "logs")
    accepted: list = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    threads = [threading.Thread(target=_burst, args=(web.port, key, stop, accepted, statuses, lock, queue))
               for _ in range(clients)]
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        procs.wait_until(lambda: unfinished(accepted) == 0, timeout=120, interval=0.5, message="the storm to drain")
        drained = time.monotonic()
        fleet.terminate()
    finally:
        fleet.close()
        web.stop()
    text = _log_text([web.proc.log]) + fleet.logs()
    return dict(database=connection.vendor, seconds=seconds, clients=clients, web_workers=web_workers,
                workers=workers, accepted_201=len(accepted), submissions_per_second=round(len(accepted) / seconds, 1),
                drained_after_seconds=round(drained - t0, 1), statuses={str(k): v for k, v in statuses.items()},
                server_errors=sum(v for k, v in statuses.items() if isinstance(k, int) and k >= 500),
                database_locked_errors=text.count("database is locked"))


def soak(work_dir: Path, *, minutes: float = 10, rate: float = 40, workers: int = 2) -> dict:
    """8: steady submission and processing; memory and error rate sampled every minute; final reconciliation."""
    rng = random.Random()
    user, key = _client(f"soak-{rng.randrange(10**9)}")
    queue = f"soak-{rng.randrange(10**9)}"
    ledger_dir = work_dir / "ledger"
    ledger_dir.mkdir(exist_ok=True)
    (work_dir / "logs").mkdir(exist_ok=True)
    web = Gunicorn(work_dir / "gunicorn-soak.log", workers=2, environ=chaos_env(ledger_dir))  # knows chaos.sleep
    fleet = Fleet(workers, ["--queues", queue, "--concurrency", "2", "--poll-interval", "0.1"],
                  chaos_env(ledger_dir), work_dir / "logs")
    accepted: list = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    pause = 2.0 / rate  # two clients
    threads = [threading.Thread(target=_burst, args=(web.port, key, stop, accepted, statuses, lock, queue,
                                                     {"seconds": 0.01}, "chaos.sleep", pause)) for _ in range(2)]

    def rss() -> tuple[int, int]:
        worker_pids = [p for proc in fleet.procs for p in [proc.pid, *_kids(proc.pid)]]
        return rss_kib(web.pids()), rss_kib(worker_pids)

    samples = []
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        last = Counter()
        for minute in range(int(minutes)):
            time.sleep(60)
            with lock:
                now_counts = Counter(statuses)
            delta = now_counts - last
            last = now_counts
            web_rss, worker_rss = rss()
            errors = sum(v for k, v in delta.items() if k != 201)
            samples.append(dict(minute=minute + 1, web_rss_kib=web_rss, worker_rss_kib=worker_rss,
                                accepted=delta.get(201, 0), errors=errors,
                                error_statuses={str(k): v for k, v in delta.items() if k != 201}))
            print("soak", samples[-1], flush=True)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        procs.wait_until(lambda: unfinished(accepted) == 0, timeout=120, interval=0.5, message="the soak to drain")
        fleet.terminate()
    finally:
        stop.set()
        fleet.close()
        web.stop()
    report = ledger.check(accepted, ledger.read(ledger_dir), [])
    done = Job.objects.filter(owner=user, status__in=TERMINAL).count()
    return dict(database=connection.vendor, minutes=minutes, target_rate=rate, accepted=len(accepted),
                terminal=done, lost=report.lost, overlaps_live_leases=report.overlaps_live_leases,
                done_more_than_once=report.done_more_than_once, samples=samples,
                web_rss_first_last_kib=[samples[0]["web_rss_kib"], samples[-1]["web_rss_kib"]] if samples else [],
                worker_rss_first_last_kib=[samples[0]["worker_rss_kib"], samples[-1]["worker_rss_kib"]]
                if samples else [], seconds=round(time.monotonic() - t0, 1))


def _kids(pid: int) -> list[int]:
    from tests.reliability.fleet import children

    return children(pid)
