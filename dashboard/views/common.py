"""What every dashboard page shares: live partials, cursors, filters and the job lookup."""
import hashlib
import re
import uuid
from datetime import datetime

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime

from queue_app.api.filters import id_prefix_range
from queue_app.models import Job, Status

VERSION_HEADER = "X-Dash-Version"
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')
PAGE_SIZE = 50


def live(request: HttpRequest, page: str, partial: str, context: dict, *, poll: bool = True) -> HttpResponse:
    """Render `page` with `partial` inside a polling region; an htmx poll gets only the region.

    The region carries a digest of its content; a poll whose digest still matches is answered
    204 (htmx swaps nothing), so an unchanged page costs one round of queries and no DOM work.
    """
    html = render_to_string(partial, context, request)
    # CSRF tokens are masked afresh on every render; leave them out of the digest.
    version = hashlib.sha256(CSRF_INPUT.sub("", html).encode()).hexdigest()[:16]
    region = {"live_html": html, "version": version, "poll": poll, "live_url": request.get_full_path()}
    if request.headers.get("HX-Request"):
        if request.headers.get(VERSION_HEADER) == version:
            response = HttpResponse(status=204)
        else:
            response = render(request, "dashboard/_live.html", region)
    else:
        response = render(request, page, {**context, **region})
    response["Vary"] = "HX-Request, Cookie"
    response["Cache-Control"] = "no-store"
    return response


def user_job(request: HttpRequest, job_id: uuid.UUID) -> Job:
    """The job if this user may see it, else 404 (never 403: no existence oracle)."""
    job = Job.objects.for_user(request.user).select_related("owner").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def encode_cursor(at: datetime, job_id: uuid.UUID) -> str:
    return f"{at.isoformat()}~{job_id.hex}"


def decode_cursor(raw: str | None) -> tuple | None:
    """A (timestamp, id) cursor from `?before=`; an unreadable one means the first page."""
    if not raw or "~" not in raw:
        return None
    stamp, _, hexid = raw.partition("~")
    try:
        at, job_id = parse_datetime(stamp.replace(" ", "+")), uuid.UUID(hex=hexid)
    except ValueError:
        return None
    return (at, job_id) if at is not None and at.tzinfo is not None else None


class JobFilters:
    """The list filters from the query string: status, queue, task, id search and (staff) user."""

    def __init__(self, request: HttpRequest, *, statuses=tuple(Status.values)):
        get = request.GET
        self.status = get.get("status", "") if get.get("status", "") in statuses else ""
        self.queue = get.get("queue", "").strip()[:64]
        self.task = get.get("task", "").strip()[:200]
        self.q = get.get("q", "").strip()[:36]
        self.user = get.get("user", "").strip()[:150] if request.user.is_staff else ""
        self.errors: list[str] = []

    def apply(self, jobs):
        """Every filter but status (metrics.list_page applies it, choosing the index to page by)."""
        if self.queue:
            jobs = jobs.filter(queue=self.queue)
        if self.task:
            jobs = jobs.filter(task=self.task)
        if self.user:
            owner = get_user_model().objects.filter(username=self.user).values_list("pk", flat=True).first()
            jobs = jobs.filter(owner_id=owner) if owner else jobs.none()
            if owner is None:
                self.errors.append(f"No user named {self.user!r}.")
        if self.q:
            digits = self.q.replace("-", "").lower()
            if digits and all(c in "0123456789abcdef" for c in digits):
                low, high = id_prefix_range(digits)
                jobs = jobs.filter(id__gte=low, id__lte=high)
            else:
                self.errors.append("Search takes the hexadecimal digits of a job id.")
                jobs = jobs.none()
        return jobs

    def query(self, **extra) -> str:
        """The filters as a query string (for links that keep them)."""
        from urllib.parse import urlencode

        params = {k: v for k, v in {"status": self.status, "queue": self.queue, "task": self.task, "q": self.q,
                                    "user": self.user, **extra}.items() if v}
        return urlencode(params)

    def one_owner(self, request) -> bool:
        """True when the list holds one owner's jobs (a user's own, or staff filtering by user)."""
        return not request.user.is_staff or bool(self.user)

    @property
    def active(self) -> bool:
        return any([self.status, self.queue, self.task, self.q, self.user])
