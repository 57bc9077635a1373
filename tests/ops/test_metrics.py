"""/metrics: parses with the Prometheus text parser and matches the database after a known workload,
in-process and from a gunicorn with several processes; access is open, token or staff only."""
import pytest
import requests
from django.db.models import Count, Sum

from queue_app import lifecycle, queues
from queue_app.errors import RateLimited
from queue_app.models import ACTIVE, Job, JobAttempt, Quota, Status, Tally, Worker
from tests import procs
from tests.ops.conftest import by_label, samples

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TOKEN = "metrics-token-for-tests-0123456789"


def run_workload(make_user, workers) -> None:
    """10 jobs in ops-a/ops-b run to the end (5 echo, 3 always failing, 2 flaky), 1 refusal, 4 paused."""
    user = make_user("ops-load")
    Quota.objects.update_or_create(user=user, defaults={"burst": 10, "rate_per_minute": 1})
    for i in range(5):
        lifecycle.submit(user, "demo.echo", {"i": i}, queue="ops-a")
    for _ in range(3):
        lifecycle.submit(user, "demo.fail", {"message": "no"}, queue="ops-b", max_retries=1)
    for _ in range(2):
        lifecycle.submit(user, "demo.flaky", {"fail_times": 1}, queue="ops-b", max_retries=2)
    with pytest.raises(RateLimited):
        lifecycle.submit(user, "demo.echo", {}, queue="ops-a")
    proc = workers("--burst", "--queues", "ops-a,ops-b", "--poll-interval", "0.05", "--concurrency", "3")
    assert proc.wait(60) == 0, proc.output()[-2000:]
    other = make_user("ops-paused")
    queues.pause("ops-c")
    for _ in range(4):
        lifecycle.submit(other, "demo.echo", {}, queue="ops-c")


def expected_from_database() -> dict:
    jobs = {(q, s): n for q, s, n in Job.objects.filter(status__in=[*ACTIVE, Status.DLQ]).order_by()
            .values_list("queue", "status").annotate(n=Count("id"))}
    tally = {(r["name"], r["queue"]): r["t"] for r in Tally.objects.values("name", "queue").annotate(t=Sum("n"))}
    attempts = {(r["job__task"], r["job__queue"]): r["n"] for r in JobAttempt.objects.exclude(outcome="released")
                .values("job__task", "job__queue").annotate(n=Count("id"))}
    return {"jobs": jobs, "tally": tally, "attempts": attempts}


def check(text: str, db: dict) -> dict:
    parsed = samples(text)
    jobs = {(dict(k)["queue"], dict(k)["status"]): v for (n, k), v in parsed.items() if n == "jobqueue_jobs"}
    assert jobs == db["jobs"]
    for (name, queue), total in db["tally"].items():
        if name.startswith("refused:"):
            key = ("jobqueue_submissions_refused_total", (("code", name[8:]), ("queue", queue)))
        else:
            key = (f"jobqueue_jobs_{name}_total", (("queue", queue),))
        assert parsed[key] == total, key
    counts = {(dict(k)["task"], dict(k)["queue"]): v for (n, k), v in parsed.items()
              if n == "jobqueue_job_duration_seconds_gcount"}
    assert counts == db["attempts"]
    return parsed


def test_metrics_match_the_database_after_a_known_workload(make_user, workers, staff_api):
    run_workload(make_user, workers)
    response = staff_api.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    parsed = check(response.content.decode(), expected_from_database())

    # The same figures, spelled out from the workload itself.
    assert by_label(parsed, "jobqueue_jobs_submitted_total", "queue") == {"ops-a": 5, "ops-b": 5, "ops-c": 4}
    assert by_label(parsed, "jobqueue_jobs_completed_total", "queue") == {"ops-a": 5, "ops-b": 2}
    assert by_label(parsed, "jobqueue_jobs_failed_total", "queue") == {"ops-b": 8}
    assert by_label(parsed, "jobqueue_jobs_retried_total", "queue") == {"ops-b": 5}
    assert by_label(parsed, "jobqueue_jobs_dead_lettered_total", "queue") == {"ops-b": 3}
    assert by_label(parsed, "jobqueue_submissions_refused_total", "code") == {"rate_limited": 1}
    jobs = {(dict(k)["queue"], dict(k)["status"]): v for (n, k), v in parsed.items() if n == "jobqueue_jobs"}
    assert jobs == {("ops-b", "DLQ"): 3, ("ops-c", "PENDING"): 4}
    durations = {(dict(k)["task"], dict(k)["le"]): v for (n, k), v in parsed.items()
                 if n == "jobqueue_job_duration_seconds_bucket" and dict(k)["le"] == "+Inf"}
    assert durations == {("demo.echo", "+Inf"): 5, ("demo.fail", "+Inf"): 6, ("demo.flaky", "+Inf"): 4}
    pickups = by_label(parsed, "jobqueue_job_pickup_seconds_gcount", "task")
    assert pickups == {"demo.echo": 5, "demo.fail": 6, "demo.flaky": 4}
    assert by_label(parsed, "jobqueue_queue_paused", "queue")["ops-c"] == 1
    assert by_label(parsed, "jobqueue_ready_jobs", "queue") == {"ops-c": 4}
    assert by_label(parsed, "jobqueue_eligible_backlog", "queue") == {"ops-c": 0}
    assert by_label(parsed, "jobqueue_held_back_jobs", "queue") == {"ops-c": 4}
    assert parsed[("jobqueue_workers_online", ())] == 0  # the burst worker has exited
    assert parsed[("jobqueue_failed_attempt_ratio", ())] == pytest.approx(8 / 15, abs=1e-3)


def test_several_gunicorn_processes_serve_the_same_figures(make_user, workers, gunicorn_factory):
    run_workload(make_user, workers)
    owner = make_user("ops-sleeper")
    for _ in range(2):
        lifecycle.submit(owner, "demo.sleep", {"seconds": 30}, queue="ops-slow")
    workers("--queues", "ops-slow", "--concurrency", "3", "--lease-seconds", "1.5", "--worker-id", "ops-slow-w")
    procs.wait_until(lambda: Worker.objects.filter(id="ops-slow-w", busy=2).exists(), timeout=20,
                     message="the worker to report 2 busy slots")
    url = gunicorn_factory(workers=3, env={"JOBQUEUE_METRICS_AUTH": "token", "JOBQUEUE_METRICS_TOKEN": TOKEN})
    db = expected_from_database()
    for _ in range(12):  # fresh connections, spread over the processes
        response = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert response.status_code == 200
        parsed = check(response.text, db)
        assert parsed[("jobqueue_workers_online", ())] == 1
        assert parsed[("jobqueue_worker_slots", ())] == 3 and parsed[("jobqueue_worker_slots_busy", ())] == 2
        assert parsed[("jobqueue_worker_utilisation", ())] == pytest.approx(2 / 3, abs=1e-3)
    for probe in ("/healthz", "/readyz"):  # answered before ALLOWED_HOSTS, under gunicorn too
        assert requests.get(url + probe, headers={"Host": "10.9.8.7:8000"}, timeout=10).status_code == 200
    denied = requests.get(url + "/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "not_authenticated"


def test_openmetrics_when_asked(staff_api, make_job):
    make_job(Status.PENDING, queue="om")
    response = staff_api.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/openmetrics-text")
    text = response.content.decode()
    assert "# TYPE jobqueue_job_duration_seconds gaugehistogram" in text and text.rstrip().endswith("# EOF")
