"""The dashboard in a real browser: log in, submit through the form, watch the status change live
while a real `runworker` runs the job, and redrive a dead job from the DLQ page."""
import re

import pytest
from django.contrib.auth import get_user_model

from queue_app.models import Job, JobAttempt, Status
from tests import procs
from tests.browser import shots

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-pw-123"


@pytest.fixture
def operator(transactional_db):
    return get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)


def log_in(page, base: str) -> None:
    page.goto(f"{base}/jobs/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/jobs/")


def submit(page, base: str, task: str, payload: str, **fields) -> str:
    """Fill and send the submit form; returns the new job's id from the detail page URL."""
    page.goto(f"{base}/submit/")
    page.select_option("#id_task", task)
    for name, value in fields.items():
        page.fill(f"#id_{name}", str(value))
    page.fill("#id_payload", payload)
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def status_on_page(page) -> str:
    return page.inner_text("#job-status").strip()


def test_submit_and_watch_the_job_finish_live(page, live_url, operator, workers, tmp_path):
    workers("--concurrency", "2", "--poll-interval", "0.2", name="worker")
    log_in(page, live_url)

    # The payload editor refuses bad JSON before anything is sent.
    page.goto(f"{live_url}/submit/")
    page.fill("#id_payload", '{"seconds": ')
    assert "Not valid JSON" in page.inner_text("#payload-errors")
    page.click("button.primary")
    assert page.url.endswith("/submit/") and not Job.objects.exists()
    page.fill("#id_payload", "[1]")
    assert "must be a JSON object" in page.inner_text("#payload-errors")
    page.select_option("#id_task", "demo.sleep")
    page.fill("#id_payload", '{\n  "seconds": 2.5\n}')
    shots.take(page, "submit", tmp_path)

    # A short delay keeps the job PENDING long enough to be seen; then RUNNING, then DONE.
    job_id = submit(page, live_url, "demo.sleep", '{"seconds": 2.5}', delay_seconds=2)
    page.evaluate("window.__no_reload = true")
    assert status_on_page(page) == "PENDING"
    page.wait_for_function("document.querySelector('#job-status').innerText.trim() === 'RUNNING'", timeout=20_000)
    page.wait_for_function("document.querySelector('#job-status').innerText.trim() === 'DONE'", timeout=30_000)
    assert page.evaluate("window.__no_reload") is True, "the page was reloaded"
    assert '"slept": 2.5' in page.inner_text("pre.json >> nth=1")
    assert Job.objects.get(pk=job_id).status == Status.DONE
    shots.take(page, "job-detail", tmp_path)

    # The jobs list shows it, and its detail opens from there.
    page.goto(f"{live_url}/jobs/")
    row = page.locator(f"tr[data-job='{job_id}']")
    assert "DONE" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"{live_url}/jobs/{job_id}/")
    assert "demo.sleep" in page.inner_text("h1")

    # A little more traffic, so the overview has something to show.
    from queue_app import lifecycle

    for i in range(6):
        lifecycle.submit(operator, "demo.echo", {"n": i})
    lifecycle.submit(operator, "demo.flaky", {"fail_times": 1}, queue="default")
    procs.wait_until(lambda: Job.objects.filter(status=Status.DONE).count() == 8, timeout=30, message="8 done")
    page.goto(f"{live_url}/")
    page.wait_for_selector(".chart")
    assert page.locator("a.card[data-status=DONE] .card-value").inner_text().strip() == "8"
    assert page.locator(".chart rect.bar-ok").count() >= 1
    shots.take(page, "overview", tmp_path)


def test_dead_job_is_redriven_from_the_dlq_page(page, live_url, operator, workers, tmp_path):
    workers("--concurrency", "1", "--poll-interval", "0.2", name="worker")
    log_in(page, live_url)
    job_id = submit(page, live_url, "demo.fail", '{"message": "card declined"}', max_retries=0)
    page.wait_for_function("document.querySelector('#job-status').innerText.trim() === 'DLQ'", timeout=30_000)
    assert "card declined" in page.inner_text(".timeline")

    page.goto(f"{live_url}/dlq/")
    row = page.locator(f"tr[data-job='{job_id}']")
    assert "card declined" in row.inner_text()
    shots.take(page, "dlq", tmp_path)
    row.get_by_role("button", name="Redrive").click()
    page.wait_for_url(re.compile(r".*/dlq/.*"))
    assert "Redrove 1 job(s)." in page.inner_text(".messages")
    # The redriven job runs again (and, being demo.fail, dies again): a second attempt is recorded.
    procs.wait_until(lambda: JobAttempt.objects.filter(job_id=job_id).count() == 2, timeout=30,
                     message="the redriven job's second attempt")
    procs.wait_until(lambda: Job.objects.get(pk=job_id).status == Status.DLQ, timeout=30, message="DLQ again")
    # The DLQ page picks the job up again by itself.
    page.wait_for_selector(f"tr[data-job='{job_id}']", timeout=20_000)
