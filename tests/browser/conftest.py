"""Headless Chromium (Debian's package, driven by Playwright's Python package) against a real gunicorn."""
import os
import shutil

import pytest

from tests import procs
from tests.live_server import gunicorn_factory, gunicorn_server  # noqa: F401 - fixtures

CHROMIUM = os.environ.get("JOBQUEUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# synchronous, one at a time, so Django's async-safety guard does not apply to them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("JOBQUEUE_REQUIRE_BROWSER") == "1":  # CI: a missing browser is a failure
            pytest.fail(f"Chromium not found at {CHROMIUM} and JOBQUEUE_REQUIRE_BROWSER=1")
        pytest.skip(f"Chromium not found at {CHROMIUM}: install it with `sudo apt-get install -y chromium` "
                    "(or set JOBQUEUE_CHROMIUM); never `playwright install`.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_url(gunicorn_factory):  # noqa: F811 - the imported fixture
    """A real gunicorn (whitenoise serving the collected static files) on the test database."""
    done = procs.manage("collectstatic", "--noinput", "-v0")
    assert done.returncode == 0, done.stderr
    return gunicorn_factory(workers=2)


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
