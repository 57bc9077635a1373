"""Make sure Debian's Chromium is present for the browser tests; install it when running as root."""
import os
import shutil
import subprocess
import sys

CHROMIUM = os.environ.get("JOBQUEUE_CHROMIUM", "/usr/bin/chromium")


def main() -> int:
    if os.path.exists(CHROMIUM):
        return 0
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's chromium for the browser tests ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
        return 0
    print(f"Chromium is missing at {CHROMIUM}: install it (apt-get install chromium) or set JOBQUEUE_CHROMIUM;"
          " the browser tests will fail without it.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
