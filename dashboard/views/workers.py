"""Workers: live workers with their current jobs, and those stopped or gone quiet in the last day."""
from django.conf import settings
from django.contrib.auth.decorators import login_required

from dashboard import metrics
from dashboard.views.common import live
from queue_app import clock


@login_required
def workers(request):
    now = clock.now()
    live_workers, recent = metrics.workers(now)
    context = {"now": now, "live_workers": live_workers, "recent": recent,
               "stale_seconds": settings.JOBQUEUE_WORKER_STALE_SECONDS}
    return live(request, "dashboard/workers.html", "dashboard/partials/workers.html", context)
