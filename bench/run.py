"""`make bench`: every figure on SQLite and PostgreSQL, a printed table, bench/results/<date>-<db>.json.

    .venv/bin/python bench/run.py [--quick] [--db sqlite|postgres|both] [--only drain,pickup,...]

BENCH_DB=sqlite|postgres|both picks the databases too (default: both when PostgreSQL is reachable).
Each database runs in its own child process against throwaway bench databases (var/bench/*.sqlite3,
PostgreSQL databases jq_bench and jq_bench_peer), never the development database.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PG_BENCH_DB,
    PY,
    ROOT,
    SQLITE_BENCH,
    VAR,
    Sizes,
    bench_env,
    manage,
    pg_drop,
    pg_reachable,
    pg_recreate,
    pg_url,
    sqlite_remove,
)

FIGURES = ["machine", "drain", "peer", "pickup", "enqueue", "memory", "growth", "pages"]
# Seconds a figure may need at most (its caps included): a figure is skipped, and says so, rather
# than overrun the budget. Together the databases stay under 15 minutes.
NEEDS = {"machine": 1, "enqueue": 70, "drain": 110, "pickup": 45, "memory": 45, "peer": 60, "growth": 180,
         "pages": 20}
BUDGET = 14 * 60
RESULTS = ROOT / "bench" / "results"


@dataclass
class Context:
    db: str
    url: str
    env: dict
    sizes: Sizes
    results: dict = field(default_factory=dict)


def database_url(db: str) -> str:
    return pg_url(PG_BENCH_DB) if db == "postgres" else f"sqlite:///{SQLITE_BENCH}"


def prepare(db: str) -> None:
    """A fresh, migrated bench database."""
    VAR.mkdir(parents=True, exist_ok=True)
    if db == "postgres":
        pg_recreate(PG_BENCH_DB)
    else:
        sqlite_remove(SQLITE_BENCH)
    manage("migrate", "--noinput", "-v", "0", env=bench_env(database_url(db)))


def _log_to_file(db: str) -> None:
    """Keep lifecycle logging on (it is part of the cost) but write it to a file, not the table."""
    import logging

    logs = VAR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("jobqueue")
    formatter = logger.handlers[0].formatter if logger.handlers else None
    handler = logging.FileHandler(logs / f"{db}-bench.log")
    handler.setFormatter(formatter)
    logger.handlers = [handler]


def child(db: str, quick: bool, only: list[str], out: Path, end: float) -> None:
    """Run the figures for one database in this process (Django set up on the bench database)."""
    import signal

    import django

    from bench.common import kill_all_spawned

    def on_term(*_):
        kill_all_spawned()  # the parent is out of patience: no graceful stops, just nothing left behind
        sys.exit(3)

    signal.signal(signal.SIGTERM, on_term)

    django.setup()
    import importlib

    _log_to_file(db)

    ctx = Context(db=db, url=database_url(db), env=bench_env(database_url(db)), sizes=Sizes.for_mode(quick))
    report = {"db": db, "quick": quick, "date": date.today().isoformat(), "figures": {}}
    try:
        for name in ["machine", *only] if only else FIGURES:
            started = time.monotonic()
            if not quick and time.time() + NEEDS[name] > end:
                report["figures"][name] = {"error": "skipped: the time budget of this run is spent"}
                print(f"[{db}] {name} skipped: out of time budget", flush=True)
                continue
            print(f"[{db}] {name} ...", flush=True)
            try:
                result = importlib.import_module(f"bench.{name}").run(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the others
                result = {"error": f"{exc.__class__.__name__}: {exc}", "traceback": traceback.format_exc()}
                print(f"[{db}] {name} failed: {result['error']}", flush=True)
            result["seconds"] = round(time.monotonic() - started, 1)
            ctx.results[name] = result
            report["figures"][name] = result
            out.write_text(json.dumps(report, indent=2, default=str))
            print(f"[{db}] {name} done in {result['seconds']} s", flush=True)
    finally:
        kill_all_spawned()
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps(report, indent=2, default=str))


def run_database(db: str, quick: bool, only: list[str], end: float) -> Path:
    prepare(db)
    # A quick or partial run never overwrites the results of a full one.
    suffix = ("-quick" if quick else "") + (f"-only-{'-'.join(only)}" if only else "")
    out = RESULTS / f"{date.today().isoformat()}-{db}{suffix}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    args = [PY, str(Path(__file__).resolve()), "--child", db, "--out", str(out), "--end", str(end)]
    args += ["--quick"] if quick else []
    args += ["--only", ",".join(only)] if only else []
    proc = subprocess.Popen(args, cwd=ROOT, env=bench_env(database_url(db)))
    try:
        proc.wait(timeout=max(30.0, end - time.time() + 60))
    except subprocess.TimeoutExpired:
        print(f"[{db}] over its time budget: stopping it; the figures so far are kept", flush=True)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return out


def pick_databases(arg: str | None) -> list[str]:
    wanted = arg or os.environ.get("BENCH_DB", "both")
    if wanted not in {"sqlite", "postgres", "both"}:
        raise SystemExit("BENCH_DB / --db must be sqlite, postgres or both")
    if wanted == "sqlite":
        return ["sqlite"]
    if pg_reachable():
        return ["sqlite", "postgres"] if wanted == "both" else ["postgres"]
    if wanted == "postgres":
        raise SystemExit("PostgreSQL is unreachable (set BENCH_PG_URL)")
    print("PostgreSQL is unreachable: running SQLite only (set BENCH_PG_URL)", flush=True)
    return ["sqlite"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each: a smoke test")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=None)
    parser.add_argument("--only", default="", help=f"comma-separated figures, run in the order given, of "
                                                  f"{','.join(FIGURES)}")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--end", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    only = [x.strip() for x in args.only.split(",") if x.strip() and x.strip() != "machine"]
    unknown = [x for x in only if x not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    if args.child:
        child(args.child, args.quick, only, Path(args.out), args.end)
        return 0
    from bench.table import print_table

    started = time.monotonic()
    outputs = {}
    dbs = pick_databases(args.db)
    try:
        for i, db in enumerate(dbs):
            # Each database gets an even share of what is left of the budget.
            end = time.time() + (BUDGET - (time.monotonic() - started)) / (len(dbs) - i)
            outputs[db] = run_database(db, args.quick, only, end)
    finally:
        from bench.peer import drop_peer_databases

        drop_peer_databases()
        sqlite_remove(SQLITE_BENCH)  # throwaway: up to a GiB after the growth figure
        if "postgres" in outputs:
            pg_drop(PG_BENCH_DB)
    print_table({db: json.loads(p.read_text()) for db, p in outputs.items() if p.exists()})
    print(f"\nbench finished in {time.monotonic() - started:.0f} s; results: "
          + ", ".join(str(p.relative_to(ROOT)) for p in outputs.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
