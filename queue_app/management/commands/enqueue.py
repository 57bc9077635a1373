"""`manage.py enqueue TASK [PAYLOAD_JSON] --user U`: submit one job; prints its id last."""
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from queue_app.errors import QueueError
from queue_app.lifecycle import submit


class Command(BaseCommand):
    help = "Submit one job and print its id."

    def add_arguments(self, parser):
        parser.add_argument("task")
        parser.add_argument("payload", nargs="?", default="{}", help="A JSON object (default {}).")
        parser.add_argument("--user", required=True)
        parser.add_argument("--queue", default="default")
        parser.add_argument("--priority", type=int, default=0)
        parser.add_argument("--delay", type=float, default=None, help="Seconds before it may run.")
        parser.add_argument("--max-retries", type=int, default=None)
        parser.add_argument("--timeout", type=int, default=None, help="timeout_seconds")
        parser.add_argument("--idempotency-key", default=None)

    def handle(self, *args, **o):
        try:
            payload = json.loads(o["payload"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"PAYLOAD_JSON is not valid JSON: {exc}") from exc
        user = get_user_model().objects.filter(username=o["user"]).first()
        if user is None:
            raise CommandError(f"No user named {o['user']!r}.")
        try:
            result = submit(user, o["task"], payload, queue=o["queue"], priority=o["priority"],
                            delay_seconds=o["delay"], max_retries=o["max_retries"], timeout_seconds=o["timeout"],
                            idempotency_key=o["idempotency_key"])
        except QueueError as exc:
            extra = f" {json.dumps(exc.details)}" if exc.details else ""
            raise CommandError(f"{exc.code}: {exc.message}{extra}") from exc
        self.stdout.write(str(result.job.id))
