"""Request ids and one structured log line per API request.

Every response carries `X-Request-ID` (the caller's own when it is sane, else a new one). While the
request runs, lifecycle events logged by queue_app.logs.event carry the same id, and the request line
names the job it was about, so `grep JOB_ID` follows a job from its submission to its completion.
"""
import logging
import re
import time
import uuid

from django.utils.functional import SimpleLazyObject, empty

from queue_app import logs

log = logging.getLogger("jobqueue.requests")
SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")
JOB_PATH = re.compile(r"^/api/jobs/(?P<id>[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                      r"[0-9a-fA-F]{12})(?:/|$)")


def request_id_for(request) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if SANE_ID.match(given) else uuid.uuid4().hex


def job_id_of(request, response) -> str | None:
    """The job a response is about: the id in the URL, or the id of a job the response returns."""
    match = JOB_PATH.match(request.path_info)
    if match:
        return match["id"]
    data = getattr(response, "data", None)
    if request.path_info == "/api/jobs/" and isinstance(data, dict) and "id" in data:
        return str(data["id"])
    return None


def _username(request) -> str | None:
    """The user the request was authenticated as, without a database query of our own: an
    unevaluated lazy session user is left alone (the database may be the reason the request failed)."""
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.get_username() if user.is_authenticated else None


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id_for(request)
        request.request_id = rid
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            logs.request_id.reset(token)
        response["X-Request-ID"] = rid
        if request.path_info.startswith("/api/"):
            self.log(request, response, rid, (time.perf_counter() - started) * 1000)
        return response

    @staticmethod
    def log(request, response, rid: str, duration_ms: float) -> None:
        username = _username(request)
        status = response.status_code
        level = logging.ERROR if status >= 500 else logging.INFO
        log.log(level, "%s %s %s", request.method, request.path_info, status, extra={"jq": {
            "event": "request", "method": request.method, "path": request.path_info, "status": status,
            "duration_ms": round(duration_ms, 2), "user": username, "request_id": rid,
            "job_id": job_id_of(request, response)}})
