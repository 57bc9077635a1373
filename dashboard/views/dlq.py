"""Dead letter queue: dead jobs with their last error; redrive or discard one, the selected, or all matching."""
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard import metrics
from dashboard.views.common import PAGE_SIZE, JobFilters, decode_cursor, encode_cursor, live
from queue_app import registry
from queue_app.errors import QueueError
from queue_app.lifecycle.operator import discard_many, redrive_many
from queue_app.models import Status

# "All matching" acts on at most this many jobs per click, in one transaction, so a click on a huge
# DLQ stays a short transaction; the message says when more remain.
BULK_LIMIT = 1000
ACTIONS = {"redrive": (redrive_many, "Redrove {n} job(s)."), "discard": (discard_many, "Discarded {n} job(s).")}


def _dead(request) -> tuple[JobFilters, object]:
    filters = JobFilters(request, statuses=())
    return filters, filters.apply(metrics.scoped(request.user).filter(status=Status.DLQ))


@login_required
def dlq(request):
    filters, jobs = _dead(request)
    before = decode_cursor(request.GET.get("before"))
    rows, nxt = metrics.list_page(jobs.select_related("owner").defer("payload", "result"), Status.DLQ, before,
                                   PAGE_SIZE, one_owner=filters.one_owner(request))
    context = {
        "jobs": rows,
        "filters": filters,
        "tasks": [t.name for t in registry.registered()],
        "total": metrics.capped_count(jobs),
        "bulk_limit": BULK_LIMIT,
        "next_url": f"?{filters.query(before=encode_cursor(*nxt))}" if nxt else None,
        "first_url": f"?{filters.query()}" if before else None,
    }
    return live(request, "dashboard/dlq.html", "dashboard/partials/dlq.html", context)


def _selected_ids(request) -> list[uuid.UUID]:
    return _selected_ids_from(request.POST.getlist("ids"))


def _selected_ids_from(values: list[str]) -> list[uuid.UUID]:
    ids = []
    for raw in values:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    return ids


@login_required
@require_POST
def dlq_action(request):
    """POST do=<action>:<scope>: action redrive|discard; scope selected (ids=...), matching (the list's
    filters, from the query string) or one job id."""
    verb, _, scope = request.POST.get("do", "").partition(":")
    action, template = ACTIONS.get(verb, (None, ""))
    filters, jobs = _dead(request)
    back = redirect(f"{reverse('dashboard:dlq')}?{filters.query()}")
    if action is None:
        messages.error(request, "Unknown action.")
        return back
    if scope == "matching":
        field = metrics.sort_field(Status.DLQ, filters.one_owner(request))
        ids = list(jobs.order_by(f"-{field}", "-id").values_list("pk", flat=True)[:BULK_LIMIT])
    else:
        wanted = _selected_ids(request) if scope == "selected" else _selected_ids_from([scope])
        ids = list(jobs.filter(pk__in=wanted).values_list("pk", flat=True))
    if not ids:
        messages.warning(request, "No dead-lettered jobs were selected.")
        return back
    try:
        n = action(ids, by=request.user.username)
    except QueueError as exc:
        messages.error(request, exc.message)
        return back
    messages.success(request, template.format(n=n))
    if scope == "matching" and len(ids) == BULK_LIMIT:
        messages.info(request, f"At most {BULK_LIMIT} jobs are handled per click; more may remain.")
    return back
