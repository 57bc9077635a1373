"""Queues: ready, scheduled and running counts per queue; staff pause and resume them."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard import metrics
from dashboard.views.common import live
from queue_app import clock
from queue_app import queues as queue_control
from queue_app.submission import QUEUE_NAME


@login_required
def queues(request):
    now = clock.now()
    context = {"now": now, "queues": metrics.queue_rows(now), "cap": f"{metrics.COUNT_CAP:,}"}
    return live(request, "dashboard/queues.html", "dashboard/partials/queues.html", context)


def _toggle(request, name: str, pause: bool):
    if not request.user.is_staff:
        raise PermissionDenied("Only staff pause and resume queues.")
    if not QUEUE_NAME.match(name):
        messages.error(request, "Not a valid queue name.")
    elif pause:
        changed = queue_control.pause(name, by=request.user.username)
        messages.success(request, f"Paused {name}." if changed else f"{name} was already paused.")
    else:
        changed = queue_control.resume(name, by=request.user.username)
        messages.success(request, f"Resumed {name}." if changed else f"{name} was not paused.")
    return redirect("dashboard:queues")


@login_required
@require_POST
def queue_pause(request, name: str):
    return _toggle(request, name, pause=True)


@login_required
@require_POST
def queue_resume(request, name: str):
    return _toggle(request, name, pause=False)
