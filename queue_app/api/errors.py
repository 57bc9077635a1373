"""One error shape for the whole API: {"error": {"code": ..., "message": ..., ...details}}."""
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from queue_app.errors import QueueError, RateLimited

log = logging.getLogger("jobqueue.api")

DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_json",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "validation_error",
}


def error_body(code: str, message: str, **details) -> dict:
    return {"error": {"code": code, "message": message, **details}}


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [str(x) if not isinstance(x, dict | list) else _flatten(x) for x in detail]
    return [str(detail)]


def exception_handler(exc, context):
    """DRF's exception handler, answering every failure in the one error shape."""
    if isinstance(exc, QueueError):
        details = {k: v for k, v in exc.details.items() if k != "retry_after"}
        response = Response(error_body(exc.code, exc.message, **details), status=exc.status)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, OperationalError | InterfaceError):
        return Response(error_body("database_unavailable", "The database is unavailable; retry shortly."),
                        status=503, headers={"Retry-After": "5"})
    if not isinstance(exc, exceptions.APIException):
        return None
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    headers = {}
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
        exc.status_code = status.HTTP_401_UNAUTHORIZED
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = error_body(code, "Invalid input.", fields=_flatten(detail))
    else:
        body = error_body(code, str(exc.detail))
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, int(exc.wait)))
    return Response(body, status=exc.status_code, headers=headers)


class ApiErrorMiddleware:
    """Under /api/: database outages become 503 JSON and stray HTML errors become JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        limit = settings.JOBQUEUE_MAX_QUERY_STRING_BYTES
        if limit and len(request.META.get("QUERY_STRING", "")) > limit:
            return JsonResponse(error_body("query_too_long", f"The query string exceeds {limit} bytes.",
                                           limit="query_string_bytes", limit_value=limit), status=414)
        try:
            response = self.get_response(request)
        except (OperationalError, InterfaceError):
            log.warning("database unavailable during %s %s", request.method, request.path_info)
            return JsonResponse(error_body("database_unavailable", "The database is unavailable; retry shortly."),
                                status=503, headers={"Retry-After": "5"})
        if response.get("Content-Type", "").startswith("text/html") and response.status_code >= 400:
            return self._json_for(response.status_code)
        return response

    def process_exception(self, request, exception):
        if not request.path_info.startswith("/api/"):
            return None
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(error_body("payload_too_large", "The request body is too large."), status=413)
        if isinstance(exception, TooManyFieldsSent):
            return JsonResponse(error_body("too_many_parameters", "Too many query or form parameters."), status=400)
        if isinstance(exception, OperationalError | InterfaceError):
            return JsonResponse(error_body("database_unavailable", "The database is unavailable; retry shortly."),
                                status=503, headers={"Retry-After": "5"})
        if isinstance(exception, DatabaseError):
            log.exception("database error")
            return JsonResponse(error_body("server_error", "Internal error."), status=500)
        log.exception("unhandled error in %s %s", request.method, request.path_info)
        return JsonResponse(error_body("server_error", "Internal error."), status=500)

    @staticmethod
    def _json_for(status_code: int) -> JsonResponse:
        codes = {400: "bad_request", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed",
                 413: "payload_too_large"}
        code = codes.get(status_code, "server_error" if status_code >= 500 else "error")
        return JsonResponse(error_body(code, code.replace("_", " ").capitalize() + "."), status=status_code)
