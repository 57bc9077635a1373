"""Signal handling: the first SIGTERM/SIGINT asks for a graceful stop, a second for a fast one."""
import signal
import threading


class StopFlags:
    def __init__(self) -> None:
        self.graceful = threading.Event()
        self.fast = threading.Event()
        self._wake_fd: int | None = None

    def install(self, wake_fd: int | None = None) -> None:
        self._wake_fd = wake_fd
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        (self.fast if self.graceful.is_set() else self.graceful).set()
        if self._wake_fd is not None:
            try:
                import os

                os.write(self._wake_fd, b"!")
            except OSError:
                pass
