"""`manage.py create_api_key USERNAME [--name N] [--create-user] [--staff]`: prints the key last."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from queue_app.auth import create_key


class Command(BaseCommand):
    help = "Create an API key; it is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="")
        parser.add_argument("--create-user", action="store_true")
        parser.add_argument("--staff", action="store_true")

    def handle(self, *args, **o):
        User = get_user_model()
        user = User.objects.filter(username=o["username"]).first()
        if user is None:
            if not o["create_user"]:
                raise CommandError(f"No user named {o['username']!r} (use --create-user).")
            user = User.objects.create_user(username=o["username"])
            user.set_unusable_password()
        if o["staff"] and not user.is_staff:
            user.is_staff = True
        user.save()
        key, raw = create_key(user, o["name"])
        self.stdout.write(f"Created API key {key.prefix} for {user.username}; it will not be shown again:")
        self.stdout.write(raw)
