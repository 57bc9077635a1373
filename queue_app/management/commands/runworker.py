"""`manage.py runworker`: validate options, configure logging, build a Worker, run it."""
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from queue_app.worker.loop import Options, Worker


def parse_queues(raw: str | None) -> list[str] | None:
    queues = [q.strip() for q in (raw or "").split(",") if q.strip()]
    return queues or None


def parse_autoscale(raw: str | None) -> tuple[int, int] | None:
    if not raw:
        return None
    try:
        low, high = (int(x) for x in raw.split(","))
    except ValueError as exc:
        raise CommandError("--autoscale takes MIN,MAX, e.g. --autoscale 1,8") from exc
    if not 1 <= low <= high:
        raise CommandError("--autoscale needs 1 <= MIN <= MAX")
    return low, high


def positive(name: str, value, *, allow_zero: bool = False):
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        raise CommandError(f"{name} must be {'>= 0' if allow_zero else 'positive'}")
    return value


def require_migrated() -> None:
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError("The database has unapplied migrations: run `python manage.py migrate` first.")


class Command(BaseCommand):
    help = "Run a worker: claim jobs under leases, run them, ack them."

    def add_arguments(self, parser):
        parser.add_argument("--queues", help="Comma-separated queues to serve (default: all).")
        parser.add_argument("--concurrency", type=int, default=2, help="Jobs run at once (child processes).")
        parser.add_argument("--autoscale", metavar="MIN,MAX", help="Grow and shrink the pool between MIN and MAX.")
        parser.add_argument("--lease-seconds", type=float, default=None)
        parser.add_argument("--poll-interval", type=float, default=None)
        parser.add_argument("--burst", action="store_true", help="Exit 0 once nothing is ready.")
        parser.add_argument("--max-jobs", type=int, default=None, help="Exit after claiming this many jobs.")
        parser.add_argument("--grace-seconds", type=float, default=None, help="Shutdown grace period.")
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args, **opts):
        options = Options(
            queues=parse_queues(opts["queues"]),
            concurrency=positive("--concurrency", opts["concurrency"]),
            lease_seconds=positive("--lease-seconds", opts["lease_seconds"]) or settings.JOBQUEUE_LEASE_SECONDS,
            poll_interval=positive("--poll-interval", opts["poll_interval"])
            or settings.JOBQUEUE_POLL_INTERVAL,
            burst=opts["burst"],
            max_jobs=positive("--max-jobs", opts["max_jobs"]),
            grace_seconds=positive("--grace-seconds", opts["grace_seconds"], allow_zero=True)
            if opts["grace_seconds"] is not None else settings.JOBQUEUE_SHUTDOWN_GRACE_SECONDS,
            worker_id=opts["worker_id"],
            autoscale=parse_autoscale(opts["autoscale"]),
        )
        verbosity = opts["verbosity"]
        if verbosity >= 2:
            logging.getLogger("jobqueue").setLevel(logging.DEBUG)
        elif verbosity == 0:
            logging.getLogger("jobqueue").setLevel(logging.WARNING)
        require_migrated()
        raise SystemExit(Worker(options).run())
