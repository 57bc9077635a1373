"""API views. Every job query starts from Job.objects.for_user(request.user): another user's job is a 404."""
import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from queue_app import clock, lifecycle, quotas, registry, scaling, stats
from queue_app.api.filters import JobFilter
from queue_app.api.pagination import NewestFirstCursorPagination
from queue_app.api.parsers import LimitedJSONParser
from queue_app.api.schema import JobQueueSchema
from queue_app.api.serializers import (
    BatchResultSerializer,
    BatchSubmitSerializer,
    EmptySerializer,
    JobDetailSerializer,
    JobSerializer,
    JobSubmitSerializer,
    QuotaSerializer,
    StatsSerializer,
    TaskInfoSerializer,
)
from queue_app.errors import PayloadTooLarge, ValidationFailed
from queue_app.models import Job, Quota
from queue_app.submission import JobSpec, validate

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="1-255 printable ASCII characters. Replaying the same key with the same body returns the "
                "original job (200); the same key with a different body is a 409. Kept at least 24 hours.",
)


class ApiView(APIView):
    schema = JobQueueSchema()
    parser_classes = [LimitedJSONParser]


def _refuse_body(request) -> None:
    """Endpoints without a body still refuse fields (a body like {"status": "DONE"} must never look applied)."""
    if request.data:
        EmptySerializer(data=request.data).is_valid(raise_exception=True)


def _spec(data: dict) -> JobSpec:
    return JobSpec(**{"payload": {}, **data})


class JobViewSet(viewsets.GenericViewSet):
    """The caller's jobs (staff: everyone's)."""

    schema = JobQueueSchema()
    parser_classes = [LimitedJSONParser]
    serializer_class = JobSerializer
    filterset_class = JobFilter
    pagination_class = NewestFirstCursorPagination
    lookup_value_regex = "[^/]+"
    error_statuses = {
        "list": (400,),
        "retrieve": (404,),
        "create": (400, 409, 413, 415, 429),
        "batch": (400, 413, 415, 429),
        "cancel": (400, 404, 409, 413, 415),
        "retry": (400, 404, 409, 413, 415, 429),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Job.objects.none()
        return Job.objects.for_user(self.request.user).select_related("owner")

    def filter_queryset(self, queryset):
        # Filters narrow the list only; a detail URL answers for its id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer

    @extend_schema(summary="List jobs, newest first")
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(JobSerializer(page, many=True).data)

    @extend_schema(summary="A job with its attempt history", responses=JobDetailSerializer)
    def retrieve(self, request, pk=None):
        job = self.get_object()
        job = Job.objects.select_related("owner").prefetch_related("attempt_history").get(pk=job.pk)
        return Response(JobDetailSerializer(job).data)

    @extend_schema(summary="Submit a job", request=JobSubmitSerializer, parameters=[IDEMPOTENCY_HEADER],
                   responses={201: JobSerializer, 200: JobSerializer})
    def create(self, request):
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            raise ValidationFailed({"Idempotency-Key": ["1-255 printable ASCII characters, no spaces."]})
        body = JobSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = lifecycle.submit(request.user, idempotency_key=key, **{"payload": {}, **body.validated_data})
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(JobSerializer(result.job).data, status=code)

    @extend_schema(summary="Submit several jobs, all or nothing", request=BatchSubmitSerializer,
                   responses={201: BatchResultSerializer})
    @action(detail=False, methods=["post"])
    def batch(self, request):
        body = BatchSubmitSerializer(data=request.data)
        if not body.is_valid():
            raise serializers.ValidationError(_index_errors(body.errors))
        specs = [_spec(item) for item in body.validated_data["jobs"]]
        _prevalidate(request.user, specs)
        jobs = lifecycle.submit_many(request.user, specs)
        return Response({"jobs": JobSerializer(jobs, many=True).data}, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Cancel a PENDING or FAILED job", request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        _refuse_body(request)
        return Response(JobSerializer(lifecycle.cancel(job, by=request.user.username)).data)

    @extend_schema(summary="Retry (redrive) a DLQ or CANCELLED job", request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        job = self.get_object()
        _refuse_body(request)
        return Response(JobSerializer(lifecycle.redrive(job, by=request.user.username)).data)


def _index_errors(errors: dict) -> dict:
    """A batch's per-job errors keyed by the job's index, leaving out the jobs that were fine."""
    jobs = errors.get("jobs")
    if isinstance(jobs, list) and any(isinstance(item, dict) for item in jobs):
        errors = {**errors, "jobs": {str(i): item for i, item in enumerate(jobs) if item}}
    return errors


def _prevalidate(user, specs: list[JobSpec]) -> None:
    """Check each job against the registry and the user's caps first, to name the failing index."""
    limits = quotas.limits_for(Quota.objects.filter(user=user).first())
    failures: dict[str, dict] = {}
    for index, spec in enumerate(specs):
        try:
            validate(JobSpec(**vars(spec)), limits)
        except ValidationFailed as exc:
            failures[str(index)] = exc.fields
        except PayloadTooLarge as exc:
            raise PayloadTooLarge(f"Job {index}: {exc.message}", index=index, **exc.details) from exc
    if failures:
        raise ValidationFailed({"jobs": failures})


class StatsView(ApiView):
    error_statuses: dict = {}

    @extend_schema(summary="Job counts for the caller (staff: everyone, and per user)", responses=StatsSerializer)
    def get(self, request):
        now = clock.now()
        if not request.user.is_staff:
            return Response(stats.summary(now, user=request.user))
        body = stats.summary(now)
        body["per_user"], body["per_user_truncated"] = stats.per_user(now)
        body["autoscaling"] = scaling.signals(now)
        return Response(body)


class QuotaView(ApiView):
    @extend_schema(summary="The caller's limits and current usage", responses=QuotaSerializer)
    def get(self, request):
        return Response({"username": request.user.username, **quotas.usage(request.user, clock.now())})


class TasksView(ApiView):
    @extend_schema(summary="Registered task names", responses=TaskInfoSerializer(many=True))
    def get(self, request):
        return Response([{"name": t.name, "description": t.description} for t in registry.registered()])
