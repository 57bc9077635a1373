"""`manage.py queue list | pause NAME | resume NAME`: see and change which queues workers skip."""
from django.core.management.base import BaseCommand, CommandError

from queue_app import clock, queues
from queue_app.api.queues import listing
from queue_app.submission import QUEUE_NAME


def queue_name(raw: str) -> str:
    if not QUEUE_NAME.match(raw):
        raise CommandError(f"Not a queue name: {raw!r} (1-64 of letters, digits, '_', '.', ':', '-').")
    return raw


class Command(BaseCommand):
    help = "List queues, or pause/resume one (a paused queue accepts jobs but workers claim none)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Queues with their pause state and active counts.")
        for action in ("pause", "resume"):
            sub.add_parser(action, help=f"{action.capitalize()} a queue.").add_argument("name")

    def handle(self, *args, **o):
        action = o["action"]
        if action == "list":
            return self.list()
        name = queue_name(o["name"])
        by = "manage.py"
        if action == "pause":
            changed = queues.pause(name, by=by)
            self.stdout.write(f"{name}: paused" if changed else f"{name}: already paused")
        else:
            changed = queues.resume(name, by=by)
            self.stdout.write(f"{name}: resumed" if changed else f"{name}: was not paused")

    def list(self) -> None:
        rows = listing(clock.now())
        if not rows:
            self.stdout.write("no queues with active jobs or pauses")
            return
        self.stdout.write(f"{'QUEUE':<24} {'STATE':<7} {'PENDING':>8} {'RUNNING':>8} {'FAILED':>8} {'ELIGIBLE':>8}")
        for r in rows:
            c = r["counts"]
            self.stdout.write(f"{r['name']:<24} {'paused' if r['paused'] else 'active':<7} {c.get('PENDING', 0):>8} "
                              f"{c.get('RUNNING', 0):>8} {c.get('FAILED', 0):>8} {r['eligible']:>8}")
