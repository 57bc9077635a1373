"""Where a draining worker spends its time: py-spy samples one `runworker` parent (wall clock, idle included).

    .venv/bin/python bench/profile_worker.py [--db sqlite|postgres] [--jobs 20000] [--seconds 10]

Prints the top frames by inclusive and by self time, and keeps the raw samples in var/bench/.
"""
import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PY, ROOT, VAR, bench_env  # noqa: E402


def summarise(raw: Path, top: int) -> str:
    """Aggregate py-spy's collapsed stacks into inclusive and self shares."""
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"{total} samples", "--- inclusive"]
    lines += [f"{100 * v / total:5.1f}%  {k[:140]}" for k, v in inclusive.most_common(top) if "queue_app" in k]
    lines += ["--- self"]
    lines += [f"{100 * v / total:5.1f}%  {k[:140]}" for k, v in own.most_common(15)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    from bench import run

    run.prepare(args.db)
    env = bench_env(run.database_url(args.db))
    os.environ.update(env)
    import django

    django.setup()
    from bench.common import count_active, insert_jobs, wait_until

    insert_jobs(args.jobs)
    raw = VAR / f"profile-{args.db}.txt"
    log = open(VAR / f"profile-{args.db}-worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen([PY, "manage.py", "runworker", "--concurrency", str(args.concurrency)], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: count_active() < args.jobs, 120, what="the worker to start draining")
        before, t0 = count_active(), time.monotonic()
        subprocess.run([str(Path(PY).parent / "py-spy"), "record", "--idle", "--format", "raw", "--rate", "200",
                        "--duration", str(int(args.seconds)), "--output", str(raw), "--pid", str(worker.pid)],
                       check=True, capture_output=True)
        rate = (before - count_active()) / (time.monotonic() - t0)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    print(f"{args.db}: {rate:.0f} jobs/s while sampled\n{summarise(raw, 60)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
