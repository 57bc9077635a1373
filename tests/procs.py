"""Real subprocesses for tests: runworker and friends against the test database."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database the tests run on (the test database, not the dev one)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def env(**overrides) -> dict:
    # DJANGO_ALLOW_ASYNC_UNSAFE is for in-process browser tests only; never hand it to subprocesses.
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base.update({
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "jobqueue.settings",
        "JOBQUEUE_BACKOFF_BASE_SECONDS": "0.05",
        "JOBQUEUE_BACKOFF_MAX_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    })
    base.update({k: str(v) for k, v in overrides.items()})
    return base


class Proc:
    """A started process with its combined output in a file."""

    def __init__(self, args: list[str], log: Path, environ: dict):
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, cwd=ROOT, env=environ, stdout=self._fh, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        self._fh.flush()
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        os.kill(self.popen.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def wait_for_output(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen in output:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=10)
        self._fh.close()


def manage(*args: str, environ: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a management command to completion against the test database."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ or env(),
                          capture_output=True, text=True, timeout=timeout)


def wait_until(predicate, timeout: float = 30, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
