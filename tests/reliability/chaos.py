"""The full reliability runs, with figures: `make chaos` (scenarios 1, 4, 5, 6, 7) and `make soak` (8).

    python tests/reliability/chaos.py [--db sqlite,postgres] [--scenarios 1,4,5,6,7] [--soak-minutes 10]

Each database gets a fresh one (var/chaos/chaos.sqlite3, or database jq_chaos on PG_TEST_URL; soak.sqlite3
and jq_soak for the soak), is
migrated, and runs the scenarios in a subprocess of its own. Figures are printed as JSON and saved to
var/chaos/figures-<database>.json. Crash durability (5) and lock storms (7) are SQLite scenarios.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "chaos"
SQLITE_ONLY = {"5", "7"}


def _fresh_database(db: str, tag: str) -> str:
    """A new empty database named after `tag` (chaos or soak, so both can run at once)."""
    if db == "sqlite":
        path = OUT / f"{tag}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    base = os.environ.get("PG_TEST_URL", "postgres://postgres@127.0.0.1:5432/test")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS jq_{tag} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE jq_{tag}")
    return base.rsplit("/", 1)[0] + f"/jq_{tag}"


def run_one(db: str, names: list[str], soak_minutes: float) -> dict:
    """Inside the per-database subprocess: set Django up on the fresh database and run the scenarios."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobqueue.settings")
    os.environ["JOBQUEUE_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.reliability import scenarios, scenarios_web

    runs = {
        "1": lambda d: scenarios.sigkill_chaos(d, jobs=3000, workers=4, concurrency=2, lease_seconds=2.0,
                                               chaos_seconds=30, kill_every=2.0, sleep_range=(0.05, 0.15)),
        "4": lambda d: scenarios.poison(d, others=200, max_retries=3, workers=4),
        "5": lambda d: scenarios_web.crash_durability(d, rounds=20),
        "6": lambda d: scenarios_web.idempotent_lost_responses(d, keys=500),
        "7": lambda d: scenarios_web.lock_storm(d, seconds=20),
        "8": lambda d: scenarios_web.soak(d, minutes=soak_minutes),
    }
    figures = {}
    for name in names:
        if name in SQLITE_ONLY and db != "sqlite":
            continue
        started = time.monotonic()
        work = OUT / f"run-{db}-{name}"  # logs and ledgers of the latest run stay here for inspection
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        result = runs[name](work)
        result["wall_seconds"] = round(time.monotonic() - started, 1)
        figures[name] = result
        print(json.dumps({"scenario": name, **result}), flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--scenarios", default="1,4,5,6,7")
    parser.add_argument("--soak-minutes", type=float, default=10)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    OUT.mkdir(parents=True, exist_ok=True)
    if args.one:
        figures = run_one(args.one, scenarios, args.soak_minutes)
        path = OUT / f"figures-{args.one}.json"  # several runs may finish at once: last writer wins per key
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved.update({k: {**v, "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} for k, v in figures.items()})
        path.write_text(json.dumps(saved, indent=2))
        return 0
    status = 0
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        url = _fresh_database(db, "soak" if scenarios == ["8"] else "chaos")
        print(f"== {db}: scenarios {','.join(scenarios)}", flush=True)
        env = {**os.environ, "DATABASE_URL": url}
        done = subprocess.run([sys.executable, __file__, "--one", db, "--scenarios", ",".join(scenarios),
                               "--soak-minutes", str(args.soak_minutes)], cwd=ROOT, env=env)
        status = status or done.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
