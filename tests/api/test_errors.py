"""Every queue failure maps to its documented status and stable code, in the one error shape."""
import pytest
from django.db import OperationalError
from rest_framework import exceptions

from queue_app.api.errors import exception_handler
from queue_app.errors import (
    Conflict,
    IdempotencyConflict,
    InvalidTransition,
    LeaseLost,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    ValidationFailed,
)


@pytest.mark.parametrize("exc, status, code", [
    (ValidationFailed({"task": ["Unknown task."]}), 400, "validation_error"),
    (PayloadTooLarge("too big", limit="max_payload_bytes"), 413, "payload_too_large"),
    (RateLimited("slow down", retry_after=0.2), 429, "rate_limited"),
    (QuotaExceeded("full", retry_after=7, limit="max_active"), 429, "quota_exceeded"),
    (Conflict("no"), 409, "conflict"),
    (IdempotencyConflict("reused"), 409, "conflict"),
    (InvalidTransition("wrong state"), 409, "conflict"),
    (LeaseLost("stale"), 409, "stale_lease"),
    (exceptions.NotAuthenticated(), 401, "not_authenticated"),
    (exceptions.AuthenticationFailed(), 401, "not_authenticated"),
    (exceptions.NotFound(), 404, "not_found"),
    (exceptions.MethodNotAllowed("DELETE"), 405, "method_not_allowed"),
    (exceptions.UnsupportedMediaType("text/xml"), 415, "unsupported_media_type"),
    (exceptions.ParseError(), 400, "malformed_json"),
    (OperationalError("gone"), 503, "database_unavailable"),
])
def test_codes(exc, status, code):
    response = exception_handler(exc, {})
    assert response.status_code == status
    assert response.data["error"]["code"] == code and response.data["error"]["message"]
    if status == 429:
        assert int(response["Retry-After"]) >= 1
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    if code == "validation_error":
        assert response.data["error"]["fields"] == {"task": ["Unknown task."]}
