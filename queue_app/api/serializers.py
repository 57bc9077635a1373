"""Request and response shapes of the API. Input serializers refuse unknown fields (no mass assignment)."""
from collections.abc import Mapping

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from queue_app.models import Job, JobAttempt
from queue_app.submission import QUEUE_NAME

JOB_FIELDS = ("id", "task", "queue", "payload", "status", "priority", "attempts", "max_retries", "timeout_seconds",
              "run_at", "created_at", "started_at", "finished_at", "result", "last_error", "owner")


class StrictSerializer(serializers.Serializer):
    """Refuses a body that is not an object or that names fields the endpoint does not take."""

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field; it cannot be set."] for name in unknown})
        return super().to_internal_value(data)


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    """A JSON object (dict)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


@extend_schema_serializer(examples=[OpenApiExample(
    "echo", value={"task": "demo.echo", "payload": {"hello": "world"}, "queue": "default"}, request_only=True)])
class JobSubmitSerializer(StrictSerializer):
    task = serializers.CharField(max_length=200, help_text="A registered task name (see GET /api/tasks/), "
                                                         "e.g. demo.echo.")
    payload = ObjectField(required=False, help_text="The task's arguments, a JSON object (default {}).")
    queue = serializers.RegexField(QUEUE_NAME, required=False, max_length=64,
                                   help_text="Queue name (default 'default').")
    priority = serializers.IntegerField(required=False, min_value=-1000, max_value=1000,
                                        help_text="Higher runs first (default 0).")
    max_retries = serializers.IntegerField(required=False, min_value=0,
                                           help_text="Retries after the first attempt; capped per user.")
    timeout_seconds = serializers.IntegerField(required=False, min_value=1,
                                               help_text="Per-attempt time limit; capped per user.")
    run_at = serializers.DateTimeField(required=False, help_text="ISO 8601; not before this time.")
    delay_seconds = serializers.FloatField(required=False, min_value=0, max_value=366 * 86400,
                                           help_text="Run after this many seconds (instead of run_at).")

    def validate(self, attrs):
        if "run_at" in attrs and "delay_seconds" in attrs:
            raise serializers.ValidationError({"run_at": ["Give either run_at or delay_seconds, not both."]})
        return attrs


class BatchSubmitSerializer(StrictSerializer):
    jobs = JobSubmitSerializer(many=True, allow_empty=False, max_length=settings.JOBQUEUE_BATCH_MAX,
                               help_text=f"1 to {settings.JOBQUEUE_BATCH_MAX} jobs, accepted all or nothing.")


class EmptySerializer(StrictSerializer):
    """No fields: the body may be absent or `{}`."""


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, help_text="The owner's username.")
    payload = ObjectField(read_only=True)
    result = serializers.JSONField(read_only=True, allow_null=True, help_text="The handler's return value.")

    class Meta:
        model = Job
        fields = JOB_FIELDS
        read_only_fields = JOB_FIELDS


class AttemptSerializer(serializers.ModelSerializer):
    started = serializers.DateTimeField(source="started_at", read_only=True, allow_null=True)
    finished = serializers.DateTimeField(source="finished_at", read_only=True)

    class Meta:
        model = JobAttempt
        fields = ("number", "worker", "started", "finished", "outcome", "error", "duration_ms")
        read_only_fields = fields


class JobLinksSerializer(serializers.Serializer):
    self = serializers.CharField()
    cancel = serializers.CharField()
    retry = serializers.CharField()


class JobDetailSerializer(JobSerializer):
    attempt_history = AttemptSerializer(many=True, read_only=True)
    links = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = (*JOB_FIELDS, "attempt_history", "links")
        read_only_fields = fields

    @extend_schema_field(JobLinksSerializer)
    def get_links(self, job: Job) -> dict:
        base = f"/api/jobs/{job.id}/"
        return {"self": base, "cancel": base + "cancel/", "retry": base + "retry/"}


class BatchResultSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True)


class TaskInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)


class LimitsSerializer(serializers.Serializer):
    """Each limit; null means unlimited."""

    rate_per_minute = serializers.IntegerField(allow_null=True)
    burst = serializers.IntegerField(allow_null=True)
    max_active = serializers.IntegerField(allow_null=True)
    max_running = serializers.IntegerField(allow_null=True)
    max_payload_bytes = serializers.IntegerField(allow_null=True)
    max_retries_cap = serializers.IntegerField(allow_null=True)
    max_timeout_seconds = serializers.IntegerField(allow_null=True)


class UsageSerializer(serializers.Serializer):
    active = serializers.IntegerField(help_text="Jobs PENDING, RUNNING or FAILED awaiting a retry.")
    running = serializers.IntegerField()
    tokens_available = serializers.FloatField(help_text="Submissions the rate bucket allows right now.")


class QuotaSerializer(serializers.Serializer):
    username = serializers.CharField()
    limits = LimitsSerializer()
    usage = UsageSerializer()


class WindowSerializer(serializers.Serializer):
    last_minute = serializers.IntegerField()
    last_hour = serializers.IntegerField()


class UserStatsSerializer(serializers.Serializer):
    username = serializers.CharField()
    active = serializers.DictField(child=serializers.IntegerField(), help_text="Active jobs per status.")
    completed_last_hour = serializers.IntegerField()
    failed_last_hour = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["user", "all"])
    generated_at = serializers.DateTimeField()
    count_cap = serializers.IntegerField(help_text="Counts of DONE, DLQ and CANCELLED jobs stop at this number.")
    capped = serializers.ListField(child=serializers.CharField(), help_text="Statuses whose count hit the cap.")
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_queue = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()),
                                     help_text="Active jobs (PENDING, RUNNING, FAILED) per queue and status.")
    oldest_pending_age_seconds = serializers.FloatField(allow_null=True)
    completed = WindowSerializer()
    failed = WindowSerializer(help_text="Jobs that exhausted their retries (moved to DLQ).")
    per_user = UserStatsSerializer(many=True, required=False, help_text="Staff only.")
    per_user_truncated = serializers.BooleanField(required=False)
    autoscaling = serializers.DictField(required=False, help_text="Staff only: autoscaling signals.")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. validation_error, not_found.")
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="validation_error: messages per field.")
    limit = serializers.CharField(required=False, help_text="rate_limited/quota_exceeded: the limit's name.")
    limit_value = serializers.IntegerField(required=False, allow_null=True)
    usage = serializers.FloatField(required=False, allow_null=True)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
