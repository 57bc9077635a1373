"""Web-side tools for the chaos runs: a real gunicorn, a response-dropping proxy, an API client, RSS."""
import http.client
import json
import os
import random
import signal
import socket
import sys
import threading
from pathlib import Path

from tests import procs
from tests.live_server import _ready, free_port


class Gunicorn:
    """`gunicorn jobqueue.wsgi` on a free port against the current database; kill() is a SIGKILL of all of it."""

    def __init__(self, log: Path, workers: int = 2, environ: dict | None = None, timeout: float = 30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = procs.Proc([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                                "--graceful-timeout", "2", "--timeout", "60", "jobqueue.wsgi"], log,
                               environ or procs.env())
        procs.wait_until(lambda: _ready(self.url) or self.proc.popen.poll() is not None, timeout=timeout,
                         message="gunicorn to answer /readyz")
        if self.proc.popen.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.proc.output()[-3000:]}")

    def pids(self) -> list[int]:
        from tests.reliability.fleet import children

        return [self.proc.pid, *children(self.proc.pid)]

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc.stop()

    def stop(self) -> None:
        self.proc.stop()


def post_json(port: int, path: str, body: dict, key: str, headers: dict | None = None,
              timeout: float = 30) -> tuple[int, dict]:
    """One POST on a fresh connection; raises OSError/HTTPException when the connection drops."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", "Connection": "close",
                                                      "Authorization": f"Bearer {key}", **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {"_raw": data[:200].decode(errors="replace")}
        return response.status, parsed
    finally:
        conn.close()


class DroppingProxy:
    """A loopback HTTP/1.1 proxy that forwards each request, then drops `drop_rate` of the responses:
    the server did the work, the client never hears back (a lost response)."""

    def __init__(self, upstream_port: int, drop_rate: float, seed: int = 0):
        self.upstream_port, self.drop_rate = upstream_port, drop_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.forwarded = self.dropped = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    @staticmethod
    def _read_request(client: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def _handle(self, client: socket.socket) -> None:
        try:
            request = self._read_request(client)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
            upstream.sendall(request)
            response = b""
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                response += chunk
            upstream.close()
            with self.lock:
                drop = self.rng.random() < self.drop_rate
                self.dropped += drop
                self.forwarded += not drop
            if not drop:
                client.sendall(response)
        except OSError:
            pass
        finally:
            client.close()

    def close(self) -> None:
        self.sock.close()


def rss_kib(pids: list[int]) -> int:
    """Total resident set size of `pids` in KiB (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total
