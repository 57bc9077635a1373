"""`manage.py purge --status DONE --older-than 7d`: delete finished jobs in batches."""
import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from queue_app import clock
from queue_app.models import TERMINAL
from queue_app.retention import purge

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(raw: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhdw])", raw.strip())
    if not match:
        raise CommandError("--older-than takes a number and a unit: 30s, 15m, 12h, 7d, 2w")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


class Command(BaseCommand):
    help = "Delete jobs in a terminal status (DONE, DLQ, CANCELLED) finished before a cut-off."

    def add_arguments(self, parser):
        parser.add_argument("--status", action="append", required=True, help="Repeat or comma-separate.")
        parser.add_argument("--older-than", required=True)
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, **o):
        statuses = sorted({s.strip().upper() for raw in o["status"] for s in raw.split(",") if s.strip()})
        bad = [s for s in statuses if s not in TERMINAL]
        if bad:
            raise CommandError(f"Only terminal statuses can be purged ({', '.join(TERMINAL)}); got {', '.join(bad)}.")
        cutoff = clock.now() - parse_age(o["older_than"])
        deleted = purge(statuses, cutoff, batch_size=o["batch_size"])
        self.stdout.write(f"Deleted {deleted} job(s).")
