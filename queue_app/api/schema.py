"""OpenAPI details: the bearer scheme, the error responses of every operation, strict request bodies."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from queue_app.api.serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    400: "validation_error (with `fields`), malformed_json",
    401: "not_authenticated: missing, malformed, unknown or revoked key",
    403: "permission_denied (e.g. a session write without a CSRF token)",
    404: "not_found: no such job, or not yours",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict: the job's status does not allow this, or an Idempotency-Key reused with another body",
    413: "payload_too_large",
    415: "unsupported_media_type: send application/json",
    429: "rate_limited or quota_exceeded, with the limit, the usage and Retry-After (also: too many failed "
         "API keys from this client)",
    503: "database_unavailable",
}
ALWAYS = (401, 403, 405, 406, 429, 503)


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "queue_app.auth.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "jq_<prefix>_<secret>",
                "description": "An API key: `Authorization: Bearer jq_...` (create one with create_api_key)."}


class JobQueueSchema(AutoSchema):
    """Adds each operation's error responses, declared on the view as `error_statuses[action]`."""

    def _statuses(self) -> set[int]:
        key = getattr(self.view, "action", None) or self.method.lower()
        return set(ALWAYS) | set(getattr(self.view, "error_statuses", {}).get(key, ()))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._statuses()):
            if str(code) not in responses:
                response = self._get_response_for_code(ErrorSerializer, str(code), direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[str(code)] = response
        return responses

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        statuses = self._statuses()
        params.append(OpenApiParameter("WWW-Authenticate", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                       response=["401"], description="Bearer"))
        retry = [str(c) for c in (429, 503) if c in statuses]
        params.append(OpenApiParameter("Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=retry,
                                       description="Whole seconds to wait before trying again."))
        return params


def strict_request_bodies(result, generator, request, public):
    """Postprocessing hook: request bodies refuse unknown fields, so say so (additionalProperties: false)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
