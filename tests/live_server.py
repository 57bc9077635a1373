"""A real gunicorn serving jobqueue on a free port against the test database.

Use in a test module (or a conftest) with
    from tests.live_server import gunicorn_factory, gunicorn_server  # noqa: F401 - fixtures
then take `gunicorn_server` (the base URL of a 2-worker server) or call `gunicorn_factory(workers=4,
env={...})`. The fixtures pull in `transactional_db`, so the rows a test writes are committed and
visible to the server, and the server stops before the database is flushed.
"""
import socket
import sys

import pytest
import requests

from tests import procs


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def gunicorn_factory(transactional_db, tmp_path):
    """start(workers=2, env=None, timeout=90) -> base URL like http://127.0.0.1:PORT (no trailing slash)."""
    started: list[procs.Proc] = []

    def start(workers: int = 2, env: dict | None = None, timeout: float = 90) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                "--graceful-timeout", "2", "--timeout", "60",
                # Servers started side by side must not share the default control socket path.
                "--no-control-socket", "jobqueue.wsgi"]
        proc = procs.Proc(args, tmp_path / f"gunicorn-{port}.log", procs.env(**(env or {})))
        started.append(proc)
        try:
            procs.wait_until(lambda: _ready(url) or proc.popen.poll() is not None, timeout=timeout,
                             message="gunicorn to answer /readyz")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{proc.output()[-3000:]}") from exc
        if proc.popen.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{proc.output()[-3000:]}")
        return url

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def gunicorn_server(gunicorn_factory) -> str:
    """The base URL of a 2-worker gunicorn on the test database."""
    return gunicorn_factory(workers=2)
