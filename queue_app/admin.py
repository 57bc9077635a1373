"""The admin: useful on its own, fast on a million-row job table, and it changes job state only
through the lifecycle module (lifecycle fields are read-only here)."""
import json

from django.contrib import admin, messages
from django.contrib.admin import ShowFacets
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html

from queue_app import auth, clock, queues, registry
from queue_app.api.filters import id_prefix_range
from queue_app.errors import QueueError
from queue_app.lifecycle.operator import REDRIVABLE, cancel_many, redrive_many
from queue_app.models import ACTIVE, CLAIMABLE, TERMINAL, ApiKey, Job, JobAttempt, PausedQueue, Quota, Status, Worker

COUNT_CAP = 10_000
ACTION_LIMIT = 10_000  # jobs one admin action touches ("select all" on a huge table acts on the newest)


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP+1 rows (a LIMITed subquery), never a full COUNT(*)."""

    @cached_property
    def count(self) -> int:
        from dashboard.metrics import count_limited

        return count_limited(self.object_list, COUNT_CAP + 1)


def pretty_json(value) -> str:
    if value is None:
        return "—"
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
                       json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


class QueueFilter(admin.SimpleListFilter):
    """Queues from a cheap source (claimable index skip-scan, running jobs, tallies), not DISTINCT over jobs."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        from dashboard.metrics import queue_names

        return [(name, name) for name in queue_names(clock.now())]

    def queryset(self, request, queryset):
        return queryset.filter(queue=self.value()) if self.value() else queryset


class TaskFilter(admin.SimpleListFilter):
    title = "task"
    parameter_name = "task"

    def lookups(self, request, model_admin):
        return [(t.name, t.name) for t in registry.registered()]

    def queryset(self, request, queryset):
        return queryset.filter(task=self.value()) if self.value() else queryset


class AttemptInline(admin.TabularInline):
    model = JobAttempt
    extra = 0
    can_delete = False
    fields = ("number", "outcome", "worker", "started_at", "finished_at", "duration_ms", "pickup_ms", "error_short",
              "traceback_block")
    readonly_fields = fields
    ordering = ("number", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="error")
    def error_short(self, attempt: JobAttempt) -> str:
        return attempt.error[:300]

    @admin.display(description="traceback")
    def traceback_block(self, attempt: JobAttempt) -> str:
        if not attempt.traceback:
            return "—"
        return format_html("<details><summary>show</summary><pre>{}</pre></details>", attempt.traceback)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("short_id", "task", "queue", "status_badge", "owner", "attempts", "priority", "created_at",
                    "finished_at")
    list_filter = ("status", QueueFilter, TaskFilter, "owner")
    list_select_related = ("owner",)
    search_fields = ("=task",)
    search_help_text = "A job id (or at least its first 4 hex digits), or a task name (or its beginning)."
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 50
    paginator = CappedPaginator
    show_full_result_count = False
    show_facets = ShowFacets.ALLOW  # facets count per filter choice: only on request (?_facets)
    actions = ("retry_jobs", "cancel_jobs", "redrive_jobs")
    inlines = (AttemptInline,)
    fieldsets = (
        (None, {"fields": ("id", "task", "queue", "owner", "status", "priority")}),
        ("Data", {"fields": ("payload_pretty", "result_pretty", "last_error")}),
        ("Lifecycle", {"fields": ("attempts", "max_retries", "timeout_seconds", "run_at", "created_at", "started_at",
                                  "finished_at", "updated_at")}),
        ("Lease", {"fields": ("lease_owner", "lease_expires_at"), "classes": ("collapse",)}),
        ("Idempotency", {"fields": ("idempotency_key", "request_fingerprint"), "classes": ("collapse",)}),
    )
    readonly_fields = ("id", "task", "queue", "owner", "status", "priority", "payload_pretty", "result_pretty",
                       "last_error", "attempts", "max_retries", "timeout_seconds", "run_at", "created_at", "started_at",
                       "finished_at", "updated_at", "lease_owner", "lease_expires_at", "idempotency_key",
                       "request_fingerprint")

    def has_add_permission(self, request) -> bool:
        # Jobs are created through lifecycle.submit (validation, quotas): the dashboard, API or CLI.
        return False

    def get_search_results(self, request, queryset, search_term):
        """Id prefix through the primary key range, or task by prefix: both use indexes."""
        term = search_term.strip()
        if not term:
            return queryset, False
        digits = term.replace("-", "").lower()
        if len(digits) >= 4 and len(digits) <= 32 and all(c in "0123456789abcdef" for c in digits):
            low, high = id_prefix_range(digits)
            return queryset.filter(id__gte=low, id__lte=high), False
        return queryset.filter(task__startswith=term), False

    def get_ordering(self, request):
        # Finished jobs filtered by status page through the (status, finished_at) index.
        if request.GET.get("status__exact") in TERMINAL:
            return ("-finished_at", "-id")
        return self.ordering

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        status = request.GET.get("status__exact")
        if status in ACTIVE:  # lets SQLite use the partial indexes (see dashboard.metrics.in_statuses)
            from dashboard.metrics import in_statuses

            qs = qs.filter(in_statuses(CLAIMABLE if status in CLAIMABLE else ACTIVE))
        return qs

    @admin.display(description="id", ordering="id")
    def short_id(self, job: Job) -> str:
        return str(job.id)[:13] + "…"

    @admin.display(description="status", ordering="status")
    def status_badge(self, job: Job) -> str:
        colours = {Status.PENDING: "#6b7280", Status.RUNNING: "#1d6fd6", Status.FAILED: "#b7791f",
                   Status.DONE: "#15803d", Status.DLQ: "#b42318", Status.CANCELLED: "#8b5cf6"}
        return format_html('<span style="color: #fff; background: {}; padding: 1px 7px; border-radius: 9px; '
                           'font-size: 11px; font-weight: 600">{}</span>', colours.get(job.status, "#666"), job.status)

    @admin.display(description="payload")
    def payload_pretty(self, job: Job) -> str:
        return pretty_json(job.payload)

    @admin.display(description="result")
    def result_pretty(self, job: Job) -> str:
        return pretty_json(job.result)

    def _ids(self, queryset) -> list:
        return list(queryset.order_by("-created_at", "-id").values_list("pk", flat=True)[:ACTION_LIMIT])

    def _report(self, request, verb: str, asked: int, changed: int) -> None:
        skipped = asked - changed
        text = f"{verb} {changed} job(s)."
        if skipped:
            text += f" {skipped} were not in a state that allows it."
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)

    def _redrive(self, request, ids: list, verb: str) -> None:
        try:
            changed = redrive_many(ids, by=request.user.username)
        except QueueError as exc:  # QuotaExceeded: an owner's max_active would be exceeded
            self.message_user(request, exc.message, messages.ERROR)
            return
        self._report(request, verb, len(ids), changed)

    @admin.action(description="Retry: send DLQ or cancelled jobs back to PENDING (fresh retry budget)")
    def retry_jobs(self, request, queryset):
        self._redrive(request, self._ids(queryset.filter(status__in=REDRIVABLE)), "Retried")

    @admin.action(description="Cancel pending or retrying jobs")
    def cancel_jobs(self, request, queryset):
        ids = self._ids(queryset)
        self._report(request, "Cancelled", len(ids), cancel_many(ids, by=request.user.username))

    @admin.action(description="Redrive dead-lettered jobs (DLQ only)")
    def redrive_jobs(self, request, queryset):
        self._redrive(request, self._ids(queryset.filter(status=Status.DLQ)), "Redrove")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "count_cap": COUNT_CAP}
        return super().changelist_view(request, extra_context)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("prefix", "name", "user__username")
    actions = ("revoke_keys",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("user",) if obj else ())

    def get_fields(self, request, obj=None):
        return ("user", "name") if obj is None else self.fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        key, raw = auth.create_key(obj.user, obj.name)
        obj.pk, obj.prefix, obj.hashed_key, obj.created_at = key.pk, key.prefix, key.hashed_key, key.created_at
        obj._state.adding = False
        self.message_user(request, format_html(
            "The new API key is <code style='user-select: all'>{}</code>. Copy it now: it is shown only this once "
            "and cannot be recovered.", raw), messages.WARNING)

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        n = 0
        for key in queryset.filter(revoked_at__isnull=True):
            auth.revoke(key)
            n += 1
        self.message_user(request, f"Revoked {n} key(s).")


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ("user", "rate_per_minute", "burst", "max_active", "max_running", "max_payload_bytes",
                    "max_retries_cap", "max_timeout_seconds")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
    readonly_fields = ("tokens", "tokens_at")
    fieldsets = (
        (None, {"fields": ("user",), "description": "A blank limit falls back to the JOBQUEUE_* default setting."}),
        ("Limits", {"fields": ("rate_per_minute", "burst", "max_active", "max_running", "max_payload_bytes",
                               "max_retries_cap", "max_timeout_seconds")}),
        ("Rate bucket (maintained by submissions)", {"fields": ("tokens", "tokens_at"), "classes": ("collapse",)}),
    )


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("id", "hostname", "pid", "state", "queues", "concurrency", "busy", "started_at", "last_heartbeat",
                    "jobs_done", "jobs_failed")
    list_filter = ("state", "hostname")
    search_fields = ("id", "hostname")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # rows are written by the workers themselves


@admin.register(PausedQueue)
class PausedQueueAdmin(admin.ModelAdmin):
    """Pausing and resuming go through queue_app.queues (so workers are woken on resume)."""

    list_display = ("name", "paused_at", "paused_by")
    fields = ("name",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        queues.pause(obj.name, by=request.user.username)

    def delete_model(self, request, obj):
        queues.resume(obj.name, by=request.user.username)

    def delete_queryset(self, request, queryset):
        for name in list(queryset.values_list("name", flat=True)):
            queues.resume(name, by=request.user.username)
