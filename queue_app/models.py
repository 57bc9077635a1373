"""The queue's tables. Only queue_app.lifecycle (and the claim/settle SQL it calls) writes
status, attempts and lease fields; everything else reads through the QuerySet methods here."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from queue_app.ids import new_job_id


class Status(models.TextChoices):
    PENDING = "PENDING", "Pending"  # waiting to be claimed once run_at is due
    RUNNING = "RUNNING", "Running"  # claimed under a live lease
    DONE = "DONE", "Done"  # acked with a result
    FAILED = "FAILED", "Failed"  # last attempt failed; claimable again at run_at (retry)
    DLQ = "DLQ", "Dead letter"  # retries exhausted; waits for a redrive
    CANCELLED = "CANCELLED", "Cancelled"  # cancelled before it ran


CLAIMABLE = (Status.PENDING, Status.FAILED)
ACTIVE = (Status.PENDING, Status.RUNNING, Status.FAILED)
TERMINAL = (Status.DONE, Status.DLQ, Status.CANCELLED)


class Outcome(models.TextChoices):
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    TIMEOUT = "timeout", "Timed out"
    LEASE_EXPIRED = "lease_expired", "Lease expired"
    RELEASED = "released", "Released"


class JobQuerySet(models.QuerySet):
    def for_user(self, user):
        """Jobs the user may see: all for staff, their own otherwise."""
        return self if user.is_staff else self.filter(owner=user)

    def ready(self, now):
        return self.filter(status__in=CLAIMABLE, run_at__lte=now)

    def running(self):
        return self.filter(status=Status.RUNNING)

    def expired(self, now):
        return self.filter(status=Status.RUNNING, lease_expires_at__lt=now)

    def active(self):
        return self.filter(status__in=ACTIVE)

    def dead(self):
        return self.filter(status=Status.DLQ)

    def in_claim_order(self):
        return self.order_by("-priority", "run_at", "id")


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=new_job_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    queue = models.CharField(max_length=64, default="default")
    task = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    priority = models.IntegerField(default=0)
    run_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    max_retries = models.PositiveIntegerField(default=3)
    timeout_seconds = models.PositiveIntegerField(default=300)
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    lease_owner = models.CharField(max_length=128, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The claim walks this index in claim order and touches only claimable rows.
            models.Index(
                F("priority").desc(), "run_at", "id",
                name="job_claim_order", condition=Q(status__in=CLAIMABLE),
            ),
            models.Index(fields=["lease_expires_at"], name="job_running_lease",
                         condition=Q(status=Status.RUNNING)),
            models.Index(fields=["owner", "status"], name="job_active_owner",
                         condition=Q(status__in=ACTIVE)),
            models.Index(fields=["queue", "run_at"], name="job_ready_queue",
                         condition=Q(status__in=CLAIMABLE)),
            models.Index(fields=["owner", "-created_at"], name="job_owner_newest"),
            models.Index(fields=["-created_at"], name="job_newest"),
            models.Index(fields=["status", "finished_at"], name="job_status_finished"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(attempts__lte=F("max_retries") + 1), name="job_attempts_in_range"),
            models.CheckConstraint(condition=Q(priority__gte=-1000, priority__lte=1000), name="job_priority_range"),
            models.CheckConstraint(
                condition=(
                    Q(status=Status.RUNNING, lease_token__isnull=False, lease_owner__isnull=False,
                      lease_expires_at__isnull=False)
                    | (~Q(status=Status.RUNNING) & Q(lease_token__isnull=True, lease_owner__isnull=True,
                                                      lease_expires_at__isnull=True))
                ),
                name="job_lease_iff_running",
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="job_status_valid"),
            models.UniqueConstraint(fields=["owner", "idempotency_key"], name="job_idempotency_per_owner",
                                    condition=Q(idempotency_key__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.id} [{self.status}]"

    @property
    def retries_left(self) -> int:
        return max(0, self.max_retries + 1 - self.attempts)


class JobAttempt(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempt_history")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=128, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    duration_ms = models.FloatField(null=True, blank=True)
    pickup_ms = models.FloatField(null=True, blank=True)  # due (run_at) -> claimed

    class Meta:
        ordering = ["job", "id"]
        indexes = [
            models.Index(fields=["job", "number"], name="attempt_job_number"),
            models.Index(fields=["finished_at"], name="attempt_finished"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.job_id}: {self.outcome}"


class WorkerState(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPING = "stopping", "Stopping"
    STOPPED = "stopped", "Stopped"


class WorkerQuerySet(models.QuerySet):
    def live(self, now, stale_seconds: float):
        from datetime import timedelta

        return self.exclude(state=WorkerState.STOPPED).filter(
            last_heartbeat__gte=now - timedelta(seconds=stale_seconds))


class Worker(models.Model):
    id = models.CharField(max_length=128, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    queues = models.JSONField(default=list)
    concurrency = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField()
    last_heartbeat = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=WorkerState.choices, default=WorkerState.RUNNING)
    jobs_done = models.PositiveBigIntegerField(default=0)
    jobs_failed = models.PositiveBigIntegerField(default=0)
    busy = models.PositiveIntegerField(default=0)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.id


class Quota(models.Model):
    """Per-user limits; a null field falls back to the JOBQUEUE_* default setting."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="quota")
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True)
    burst = models.PositiveIntegerField(null=True, blank=True)
    max_active = models.PositiveIntegerField(null=True, blank=True)
    max_running = models.PositiveIntegerField(null=True, blank=True)
    max_payload_bytes = models.PositiveIntegerField(null=True, blank=True)
    max_retries_cap = models.PositiveIntegerField(null=True, blank=True)
    max_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Token bucket state, consumed in the submit transaction.
    tokens = models.FloatField(null=True, blank=True)
    tokens_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quota of {self.user}"


class ApiKey(models.Model):
    """An API key: only a short non-secret prefix and the SHA-256 of the whole key are stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PausedQueue(models.Model):
    """A queue workers skip while its row exists; submissions are still accepted."""

    name = models.CharField(max_length=64, primary_key=True)
    paused_at = models.DateTimeField()
    paused_by = models.CharField(max_length=150, blank=True, default="")

    def __str__(self) -> str:
        return self.name


class Tally(models.Model):
    """Event counts per minute and queue, written as insert-only deltas in the transaction of the
    change they count (no hot counter row to contend on) and folded into one row per key later.

    Rows folded past retention keep their totals under minute = ARCHIVE_MINUTE, so all-time sums
    (Prometheus counters) survive retention.
    """

    name = models.CharField(max_length=64)
    queue = models.CharField(max_length=64, default="")
    minute = models.DateTimeField()
    n = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["minute", "name"], name="tally_minute_name")]

    def __str__(self) -> str:
        return f"{self.name}[{self.queue}]@{self.minute:%Y-%m-%d %H:%M}={self.n}"
