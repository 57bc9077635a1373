"""`manage.py set_quota USERNAME [--rate-per-minute N] ...`: set a user's limits ('default' clears one)."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from queue_app.models import Quota
from queue_app.quotas import limits_for

UNSET = object()  # not a string: argparse would run `type` on a string default
FIELDS = ["rate_per_minute", "burst", "max_active", "max_running", "max_payload_bytes", "max_retries_cap",
          "max_timeout_seconds"]


def limit_value(raw: str):
    if raw.lower() in {"default", "none"}:
        return None
    if not raw.isdigit():
        raise CommandError(f"Limits are whole numbers >= 0 or 'default'; got {raw!r}.")
    return int(raw)


class Command(BaseCommand):
    help = "Set a user's quota and rate limits."

    def add_arguments(self, parser):
        parser.add_argument("username")
        for name in FIELDS:
            parser.add_argument("--" + name.replace("_", "-"), type=limit_value, default=UNSET)

    def handle(self, *args, **o):
        user = get_user_model().objects.filter(username=o["username"]).first()
        if user is None:
            raise CommandError(f"No user named {o['username']!r}.")
        quota, _ = Quota.objects.get_or_create(user=user)
        changed = [name for name in FIELDS if o[name] is not UNSET]
        for name in changed:
            setattr(quota, name, o[name])
        if "rate_per_minute" in changed or "burst" in changed:
            quota.tokens = quota.tokens_at = None  # start the new bucket full
        quota.save()
        for name, value in limits_for(quota).__dict__.items():
            self.stdout.write(f"{name}: {'unlimited' if value is None else value}")
