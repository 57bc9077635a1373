"""Staff operations on queues: list them with their counts, pause and resume them."""
from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response

from queue_app import clock, queues, scaling
from queue_app.api.views import ApiView, _refuse_body
from queue_app.errors import ValidationFailed
from queue_app.models import ACTIVE, Job, PausedQueue
from queue_app.submission import QUEUE_NAME


class IsStaff(permissions.BasePermission):
    message = "Queue operations are for staff."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class QueueSerializer(serializers.Serializer):
    name = serializers.CharField()
    paused = serializers.BooleanField()
    paused_at = serializers.DateTimeField(allow_null=True)
    paused_by = serializers.CharField(allow_blank=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Active jobs per status (exact).")
    ready = serializers.IntegerField(help_text="Due jobs, counted up to backlog_cap.")
    eligible = serializers.IntegerField(help_text="Ready jobs a free worker could run now.")
    oldest_ready_age_seconds = serializers.FloatField(allow_null=True)


class QueueListSerializer(serializers.Serializer):
    backlog_cap = serializers.IntegerField()
    queues = QueueSerializer(many=True)


class QueueStateSerializer(serializers.Serializer):
    name = serializers.CharField()
    paused = serializers.BooleanField()
    changed = serializers.BooleanField(help_text="False when the queue already was in that state.")


def listing(now) -> list[dict]:
    """Every queue with active jobs or a pause, with exact active counts and the scaling signals."""
    counts: dict[str, dict[str, int]] = {}
    rows = Job.objects.filter(status__in=ACTIVE).order_by().values_list("queue", "status").annotate(n=Count("id"))
    for queue, status, n in rows:
        counts.setdefault(queue, {})[status] = n
    pauses = {p.name: p for p in PausedQueue.objects.all()}
    signals = scaling.queue_signals(now)
    out = []
    for name in sorted(set(counts) | set(pauses) | set(signals)):
        pause, sig = pauses.get(name), signals.get(name, {})
        out.append({"name": name, "paused": pause is not None, "paused_at": pause.paused_at if pause else None,
                    "paused_by": pause.paused_by if pause else "", "counts": counts.get(name, {}),
                    "ready": sig.get("ready", 0), "eligible": sig.get("eligible", 0),
                    "oldest_ready_age_seconds": sig.get("oldest_ready_age_seconds")})
    return out


def _checked(name: str) -> str:
    if not QUEUE_NAME.match(name):
        raise ValidationFailed({"name": ["1-64 characters: letters, digits, '_', '.', ':', '-'; "
                                         "starting alphanumeric."]})
    return name


class QueueListView(ApiView):
    permission_classes = [IsStaff]
    error_statuses: dict = {}

    @extend_schema(summary="Queues with their pause state and counts (staff)", responses=QueueListSerializer)
    def get(self, request):
        return Response({"backlog_cap": scaling.BACKLOG_CAP, "queues": listing(clock.now())})


class QueuePauseView(ApiView):
    permission_classes = [IsStaff]
    error_statuses = {"post": (400,)}

    @extend_schema(summary="Pause a queue: submissions are accepted, nothing is claimed (staff)", request=None,
                   responses=QueueStateSerializer)
    def post(self, request, name: str):
        _refuse_body(request)
        changed = queues.pause(_checked(name), by=request.user.get_username())
        return Response({"name": name, "paused": True, "changed": changed})


class QueueResumeView(ApiView):
    permission_classes = [IsStaff]
    error_statuses = {"post": (400,)}

    @extend_schema(summary="Resume a paused queue (staff)", request=None, responses=QueueStateSerializer)
    def post(self, request, name: str):
        _refuse_body(request)
        changed = queues.resume(_checked(name), by=request.user.get_username())
        return Response({"name": name, "paused": False, "changed": changed})
