"""Enqueue: submit() one at a time and submit_many() in bulk in-process; POST /api/jobs/ and the batch
endpoint under gunicorn (2 and 4 sync workers), loaded from a separate process with 16 connections."""
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

from bench.common import PY, ROOT, Spawned, bench_user, manage, metric, repeat, reset_jobs, wait_until

CONNECTIONS = 16
BATCH_CONNECTIONS = 4  # 500-job requests: fewer in flight at once, each is a large transaction
BATCH = 500


def _submit_one(n: int, cap: float) -> float:
    """submit() n jobs one at a time (or as many as fit in `cap` seconds); jobs/s."""
    from queue_app import lifecycle

    user = bench_user()
    reset_jobs()
    t0 = time.perf_counter()
    done = 0
    while done < n and time.perf_counter() - t0 < cap:
        lifecycle.submit(user, "demo.echo", {"n": done})
        done += 1
    return done / (time.perf_counter() - t0)


def _submit_bulk(n: int, cap: float) -> float:
    """submit_many() n jobs in batches of BATCH (or as many batches as fit in `cap` seconds); jobs/s."""
    from queue_app import lifecycle
    from queue_app.submission import JobSpec

    user = bench_user()
    reset_jobs()
    t0 = time.perf_counter()
    done = 0
    while done < n and time.perf_counter() - t0 < cap:
        lifecycle.submit_many(user, [JobSpec(task="demo.echo", payload={"n": i})
                                     for i in range(done, min(n, done + BATCH))])
        done = min(n, done + BATCH)
    return done / (time.perf_counter() - t0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe(port: int, path: str, key: str, body: bytes) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _load(ctx, port: int, path: str, key: str, body: str, seconds: float, connections: int = CONNECTIONS) -> dict:
    reset_jobs()
    done = subprocess.run([PY, "bench/httpload.py", "--port", str(port), "--path", path, "--key", key,
                           "--body", body, "--connections", str(connections), "--seconds", str(seconds)],
                          capture_output=True, text=True, timeout=seconds + 120, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _http(ctx, workers: int, key: str, out: dict) -> list:
    s = ctx.sizes
    port = _free_port()
    server = Spawned([PY, "-m", "gunicorn", "jobqueue.wsgi:application", "--workers", str(workers),
                      "--bind", f"127.0.0.1:{port}", "--log-level", "warning"], f"{ctx.db}-gunicorn-{workers}",
                     ctx.env)
    metrics = []
    try:
        wait_until(lambda: _healthy(port), 30, interval=0.1, what="gunicorn to answer")
        one = json.dumps({"task": "demo.echo", "payload": {"n": 1}})
        status = _probe(port, "/api/jobs/", key, one.encode())
        if status == 404:
            out.setdefault("missing", []).append("POST /api/jobs/")
            return []
        runs = repeat(lambda: _load(ctx, port, "/api/jobs/", key, one, s.http_seconds), s,
                      warmup=lambda: _load(ctx, port, "/api/jobs/", key, one, 1))
        out.setdefault("raw", {})[f"http_{workers}"] = runs
        bad = sum(r["requests"] - r["ok"] for r in runs)
        note = f"{bad} non-2xx answers: {runs[-1]['statuses']}" if bad else ""
        metrics += [
            metric(f"POST /api/jobs/, gunicorn {workers} sync workers, {CONNECTIONS} conns", "req/s",
                   [r["rps"] for r in runs], goal=">= 800" if workers == 2 else "", note=note),
            metric(f"  p50 latency ({workers} workers)", "ms", [r["p50_ms"] for r in runs], better="lower"),
            metric(f"  p99 latency ({workers} workers)", "ms", [r["p99_ms"] for r in runs], better="lower"),
        ]
        if workers == 2:
            metrics += _batch(ctx, port, key, out)
    finally:
        server.stop()
    return metrics


def _batch(ctx, port: int, key: str, out: dict) -> list:
    s = ctx.sizes
    body = json.dumps({"jobs": [{"task": "demo.echo", "payload": {"n": i}} for i in range(BATCH)]})
    t0 = time.perf_counter()
    status = _probe(port, "/api/jobs/batch/", key, body.encode())
    # The window must hold several batch answers even on a slow or busy machine (bounded at 20 s).
    window = min(20.0, max(s.http_seconds, 4 * (time.perf_counter() - t0)))
    if status == 404:
        out.setdefault("missing", []).append("POST /api/jobs/batch/")
        return []
    if not 200 <= status < 300:
        raise RuntimeError(f"POST /api/jobs/batch/ answered {status}")
    runs = repeat(lambda: _load(ctx, port, "/api/jobs/batch/", key, body, window, BATCH_CONNECTIONS), s,
                  warmup=lambda: _load(ctx, port, "/api/jobs/batch/", key, body, 1, BATCH_CONNECTIONS))
    out.setdefault("raw", {})["batch"] = runs
    return [metric(f"POST /api/jobs/batch/ ({BATCH} jobs each), 2 workers, {BATCH_CONNECTIONS} conns", "jobs/s",
                   [r["rps"] * BATCH for r in runs], goal=">= 20000"),
            metric("  p50 latency per batch request", "ms", [r["p50_ms"] for r in runs], better="lower")]


def run(ctx) -> dict:
    s = ctx.sizes
    out: dict = {}
    one = repeat(lambda: _submit_one(s.submit_one, s.submit_cap), s, warmup=lambda: _submit_one(200, 1))
    bulk = repeat(lambda: _submit_bulk(s.submit_bulk, s.submit_cap), s, warmup=lambda: _submit_bulk(2000, 1))
    cap = f"{s.submit_cap:.0f} s cap"
    metrics = [metric(f"submit() one at a time (<= {s.submit_one:,} jobs / {cap}, quota checks on)", "jobs/s", one),
               metric(f"submit_many() in batches of {BATCH} (<= {s.submit_bulk:,} jobs / {cap})", "jobs/s", bulk)]
    key = manage("create_api_key", f"bench-http-{int(time.time())}", "--create-user", env=ctx.env).strip()
    key = key.splitlines()[-1].strip()
    for workers in (2, 4):
        metrics += _http(ctx, workers, key, out)
    reset_jobs()
    return {"metrics": metrics, **out}
