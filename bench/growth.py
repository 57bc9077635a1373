"""Growth: drain rate and claim latency with 1,000,000 finished jobs in the table, against an empty table."""
import time
from contextlib import contextmanager

from bench.common import count_status, insert_jobs, metric, percentile, repeat, reset_jobs
from bench.drain import cap_note, drain_run

CHUNK = 200_000
SPREAD_DAYS = 30
MIX = (("DONE", 0.98), ("DLQ", 0.01), ("CANCELLED", 0.01))


def claim_latency(samples: int, limit: int) -> dict:
    """Claim `limit` jobs `samples` times in-process (acking each batch untimed); claim p50/p99 in ms."""
    from queue_app import lifecycle
    from queue_app.lifecycle import Settlement

    insert_jobs(samples * limit)
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        claimed = lifecycle.claim("bench-claim", None, limit, 30.0)
        times.append((time.perf_counter() - t0) * 1000)
        lifecycle.settle([Settlement(c.id, c.lease_token, "done", c.attempt, c.worker, c.started_at, task=c.task,
                                     queue=c.queue) for c in claimed])
    return {"p50": percentile(times, 50), "p99": percentile(times, 99)}


def _secondary_indexes(cursor, vendor: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the job table's indexes that no constraint owns (the primary key's stays)."""
    if vendor == "postgresql":
        cursor.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'queue_app_job' "
                       "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")
    else:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'queue_app_job' "
                       "AND sql IS NOT NULL")
    return cursor.fetchall()


@contextmanager
def indexes_rebuilt_after():
    """Bulk-load idiom: drop the secondary indexes, load, then build them once (same schema after)."""
    from django.db import connection

    with connection.cursor() as cursor:
        indexes = _secondary_indexes(cursor, connection.vendor)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, create in indexes:
                cursor.execute(create)


def fill(rows: int) -> float:
    """Add `rows` finished jobs (98% DONE, 1% DLQ, 1% CANCELLED) spread over 30 days; returns seconds."""
    t0 = time.monotonic()
    with indexes_rebuilt_after():
        _fill(rows)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE queue_app_job")  # what autovacuum does soon after a bulk load
    return time.monotonic() - t0


def _fill(rows: int) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    span = SPREAD_DAYS * 86400 * CHUNK / rows
    done_rows, k = 0, 0
    while done_rows < rows:
        n = min(CHUNK, rows - done_rows)
        base = now - timedelta(seconds=span * k)
        offset = 0
        for status, share in MIX:
            part = n - offset if status == "CANCELLED" else int(n * share)
            insert_jobs(part, status=status, spread_seconds=span * part / n,
                        now=base - timedelta(seconds=span * offset / n))
            offset += part
        done_rows += n
        k += 1


def run(ctx) -> dict:
    s = ctx.sizes
    procs, limit = s.growth_processes, s.concurrency
    reset_jobs()
    empty_claim = repeat(lambda: claim_latency(s.claim_samples, limit), s)
    drain = ctx.results.get("drain", {}).get("raw", {}).get(str(procs))
    if not drain:
        drain = repeat(lambda: drain_run(ctx, procs, s.drain_jobs, "growth"), s)
    reset_jobs()
    fill_seconds = fill(s.growth_rows)
    full_claim = repeat(lambda: claim_latency(s.claim_samples, limit), s)
    full = repeat(lambda: drain_run(ctx, procs, s.drain_jobs, "growth", reset=False), s)
    rows = count_status("DONE") + count_status("DLQ") + count_status("CANCELLED")
    empty_rate = sorted(r["rate"] for r in drain)[len(drain) // 2]
    label = f"{procs} proc x {s.concurrency} slots, {s.drain_jobs:,} jobs"
    return {"metrics": [
        metric(f"drain, empty table ({label})", "jobs/s", [r["rate"] for r in drain]),
        metric(f"drain with {s.growth_rows:,} finished rows", "jobs/s", [r["rate"] for r in full],
               note=cap_note(full, s.drain_jobs, s.drain_cap)),
        metric("  full / empty drain rate", "x", [r["rate"] / empty_rate if empty_rate else float("nan") for r in full],
               goal=">= 0.8"),
        metric(f"claim of {limit} p99, empty table", "ms", [r["p99"] for r in empty_claim], better="lower"),
        metric(f"claim of {limit} p99, {s.growth_rows:,} finished rows", "ms", [r["p99"] for r in full_claim],
               better="lower"),
        metric(f"  claim p50, {s.growth_rows:,} finished rows", "ms", [r["p50"] for r in full_claim],
               better="lower"),
        metric(f"bulk fill of {s.growth_rows:,} finished rows (raw INSERT ... SELECT)", "s", [fill_seconds],
               better="lower"),
    ], "rows_in_table": rows, "raw": {"empty_claim": empty_claim, "full_claim": full_claim, "full_drain": full}}
