"""System checks for jobqueue settings."""
from django.conf import settings
from django.core.checks import Error, register


@register()
def queue_settings(app_configs, **kwargs):
    errors = []
    if settings.JOBQUEUE_LEASE_SECONDS <= 0:
        errors.append(Error("JOBQUEUE_LEASE_SECONDS must be positive.", id="jobqueue.E001"))
    if settings.JOBQUEUE_LOG_FORMAT not in {"text", "json"}:
        errors.append(Error("JOBQUEUE_LOG_FORMAT must be 'text' or 'json'.", id="jobqueue.E002"))
    if settings.JOBQUEUE_BACKOFF_MAX_SECONDS < settings.JOBQUEUE_BACKOFF_BASE_SECONDS:
        errors.append(Error("JOBQUEUE_BACKOFF_MAX_SECONDS must be >= the base.", id="jobqueue.E003"))
    return errors
