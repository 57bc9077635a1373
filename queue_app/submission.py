"""Validation of a job submission, shared by every entry point (API, dashboard, admin, CLI)."""
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from queue_app import registry
from queue_app.errors import PayloadTooLarge, ValidationFailed
from queue_app.quotas import Limits

QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
FIELDS = {"task", "payload", "queue", "priority", "max_retries", "timeout_seconds", "run_at", "delay_seconds"}


@dataclass
class JobSpec:
    """One validated submission."""

    task: str
    payload: dict = field(default_factory=dict)
    queue: str = "default"
    priority: int = 0
    max_retries: int | None = None
    timeout_seconds: int | None = None
    run_at: datetime | None = None
    delay_seconds: float | None = None

    def fingerprint(self) -> str:
        """A digest of the request, to tell an idempotent replay from a conflicting reuse."""
        body = {
            "task": self.task, "payload": self.payload, "queue": self.queue, "priority": self.priority,
            "max_retries": self.max_retries, "timeout_seconds": self.timeout_seconds,
            "run_at": self.run_at.isoformat() if self.run_at else None, "delay_seconds": self.delay_seconds,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    def due(self, now: datetime) -> datetime:
        if self.run_at is not None:
            return self.run_at
        if self.delay_seconds:
            return now + timedelta(seconds=self.delay_seconds)
        return now


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def payload_size(payload: Any) -> int:
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _check_json_text(value: Any) -> bool:
    """Refuse strings a database cannot store faithfully (NUL bytes, lone surrogates)."""
    text = json.dumps(value, ensure_ascii=False)
    if "\\u0000" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate(spec: JobSpec, limits: Limits) -> JobSpec:
    """Check one spec against the registry and the owner's limits; raise ValidationFailed."""
    errors: dict[str, list[str]] = {}
    if not isinstance(spec.task, str) or not spec.task:
        errors["task"] = ["This field is required."]
    elif not registry.is_registered(spec.task):
        errors["task"] = [f"Unknown task '{spec.task}'."]
    if not isinstance(spec.payload, dict):
        errors["payload"] = ["Must be a JSON object."]
    elif not _check_json_text(spec.payload):
        errors["payload"] = ["Strings may not contain NUL characters or unpaired surrogates."]
    if not isinstance(spec.queue, str) or not QUEUE_NAME.match(spec.queue):
        errors["queue"] = ["1-64 characters: letters, digits, '_', '.', ':', '-'; starting alphanumeric."]
    if not _is_int(spec.priority) or not -1000 <= spec.priority <= 1000:
        errors["priority"] = ["An integer from -1000 to 1000."]
    if spec.max_retries is not None:
        cap = limits.max_retries_cap
        if not _is_int(spec.max_retries) or spec.max_retries < 0 or (cap is not None and spec.max_retries > cap):
            errors["max_retries"] = [f"An integer from 0 to {cap}."]
    if spec.timeout_seconds is not None:
        cap = limits.max_timeout_seconds
        if not _is_int(spec.timeout_seconds) or spec.timeout_seconds < 1 or (
                cap is not None and spec.timeout_seconds > cap):
            errors["timeout_seconds"] = [f"An integer from 1 to {cap}."]
    if spec.run_at is not None and spec.delay_seconds is not None:
        errors["run_at"] = ["Give either run_at or delay_seconds, not both."]
    if spec.run_at is not None and (not isinstance(spec.run_at, datetime) or spec.run_at.tzinfo is None):
        errors["run_at"] = ["An ISO 8601 date-time with a time zone."]
    if spec.delay_seconds is not None:
        if isinstance(spec.delay_seconds, bool) or not isinstance(spec.delay_seconds, int | float) \
                or not 0 <= spec.delay_seconds <= 366 * 86400:
            errors["delay_seconds"] = ["A number of seconds from 0 to 31622400."]
    if errors:
        raise ValidationFailed(errors)
    if limits.max_payload_bytes is not None:
        size = payload_size(spec.payload)
        if size > limits.max_payload_bytes:
            raise PayloadTooLarge(
                f"The payload is {size} bytes; the limit is {limits.max_payload_bytes}.",
                limit="max_payload_bytes", limit_value=limits.max_payload_bytes, usage=size,
            )
    if spec.max_retries is None:
        spec.max_retries = settings.JOBQUEUE_DEFAULT_MAX_RETRIES
    if spec.timeout_seconds is None:
        spec.timeout_seconds = settings.JOBQUEUE_DEFAULT_TIMEOUT_SECONDS
    return spec
