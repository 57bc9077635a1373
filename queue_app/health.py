"""/healthz and /readyz, answered before ALLOWED_HOSTS and sessions get involved (for probes)."""
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse


def _ready() -> tuple[bool, str]:
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return False, "migrations pending"
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        return False, f"database unavailable: {exc.__class__.__name__}"


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path == "/healthz":
            return JsonResponse({"status": "ok"})
        if path == "/readyz":
            ok, detail = _ready()
            return JsonResponse({"status": "ok" if ok else "unavailable", "detail": detail},
                                status=200 if ok else 503)
        return self.get_response(request)
