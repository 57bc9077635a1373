"""`manage.py runlocal` (what `make run` calls): migrate, create the demo user and key, then run the
web server and one worker together until Ctrl-C, which stops both cleanly."""
import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from queue_app.auth import create_key
from queue_app.models import ApiKey

DEMO_USER = "demo"
PASSWORD_FILE = "demo-password.txt"
KEY_FILE = "demo-api-key.txt"


def demo_credentials() -> tuple[str, str]:
    """The demo superuser's password and API key, created once and kept under var/."""
    User = get_user_model()
    pw_path, key_path = settings.VAR_DIR / PASSWORD_FILE, settings.VAR_DIR / KEY_FILE
    user = User.objects.filter(username=DEMO_USER).first()
    if user is None or not pw_path.exists():
        password = secrets.token_urlsafe(9)
        user = user or User(username=DEMO_USER, email="demo@example.com")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        pw_path.write_text(password)
    raw = key_path.read_text().strip() if key_path.exists() else ""
    prefix = raw.split("_")[1] if raw.count("_") >= 2 else ""
    if not raw or not ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True, user=user).exists():
        _, raw = create_key(user, "demo (make run)")
        key_path.write_text(raw)
    return pw_path.read_text().strip(), raw


class Command(BaseCommand):
    help = "Run jobqueue locally: web server + one worker, with a demo user."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, **o):
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        password, key = demo_credentials()
        url = f"http://{o['host']}:{o['port']}/"
        python = sys.executable
        web = subprocess.Popen([python, "-m", "gunicorn", "jobqueue.wsgi", "-c", "gunicorn.conf.py",
                                "--bind", f"{o['host']}:{o['port']}", "--workers", "2"],
                               env={**os.environ, "GUNICORN_WORKERS": "2"}, start_new_session=True)
        worker = subprocess.Popen([python, "manage.py", "runworker", "--concurrency", str(o["concurrency"])],
                                  start_new_session=True)
        self.stdout.write(self.style.SUCCESS("\njobqueue is running\n"))
        self.stdout.write(f"  Dashboard:  {url}\n  Admin:      {url}admin/\n  API docs:   {url}api/docs/\n"
                          f"  Login:      {DEMO_USER} / {password}\n  API key:    {key}\n"
                          f"  Try:        curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json'"
                          f" -d '{{\"task\": \"demo.echo\", \"payload\": {{\"hello\": \"world\"}}}}' {url}api/jobs/\n"
                          "Press Ctrl-C to stop.\n")
        self._supervise(web, worker)

    def _supervise(self, web, worker) -> None:
        stopping = []
        signal.signal(signal.SIGINT, lambda *a: stopping.append(1))
        signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
        while not stopping and web.poll() is None and worker.poll() is None:
            time.sleep(0.2)
        self.stdout.write("stopping ...")
        for proc in (worker, web):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (worker, web):
            try:
                proc.wait(timeout=settings.JOBQUEUE_SHUTDOWN_GRACE_SECONDS + 10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stdout.write("stopped.")
