"""Jobs: the filtered list (keyset pages, newest first) and one job's detail with its actions."""
import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard import metrics
from dashboard.views.common import PAGE_SIZE, JobFilters, decode_cursor, encode_cursor, live, user_job
from queue_app import lifecycle, registry
from queue_app.errors import QueueError
from queue_app.lifecycle.operator import CANCELLABLE, REDRIVABLE
from queue_app.models import TERMINAL, Status


@login_required
def job_list(request):
    filters = JobFilters(request)
    jobs = filters.apply(metrics.scoped(request.user)).select_related("owner").defer("payload", "result")
    before = decode_cursor(request.GET.get("before"))
    one_owner = filters.one_owner(request)
    rows, nxt = metrics.list_page(jobs, filters.status, before, PAGE_SIZE, one_owner=one_owner)
    context = {
        "jobs": rows,
        "filters": filters,
        "statuses": Status.choices,
        "sorted_by": metrics.sort_field(filters.status, one_owner),
        "tasks": [t.name for t in registry.registered()],
        "next_url": f"?{filters.query(before=encode_cursor(*nxt))}" if nxt else None,
        "first_url": f"?{filters.query()}" if before else None,
    }
    return live(request, "dashboard/jobs.html", "dashboard/partials/jobs.html", context)


def pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@login_required
def job_detail(request, job_id: uuid.UUID):
    job = user_job(request, job_id)
    attempts = list(job.attempt_history.order_by("-number", "-id")[:100])
    context = {
        "job": job,
        "payload": pretty(job.payload),
        "result": pretty(job.result) if job.result is not None else None,
        "attempts": attempts,
        "can_cancel": job.status in CANCELLABLE,
        "can_retry": job.status in REDRIVABLE,
        "terminal": job.status in TERMINAL,
    }
    return live(request, "dashboard/job_detail.html", "dashboard/partials/job_detail.html", context)


def _act(request, job_id: uuid.UUID, action, done: str):
    job = user_job(request, job_id)
    try:
        action(job, by=request.user.username)
    except QueueError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("dashboard:job", job_id=job.pk)


@login_required
@require_POST
def job_cancel(request, job_id: uuid.UUID):
    return _act(request, job_id, lifecycle.cancel, "Job cancelled.")


@login_required
@require_POST
def job_retry(request, job_id: uuid.UUID):
    return _act(request, job_id, lifecycle.redrive, "Job sent back to the queue with a fresh retry budget.")
