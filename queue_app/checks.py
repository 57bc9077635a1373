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


@register(deploy=True)
def production_secret_key(app_configs, **kwargs):
    """`check --deploy`: the development SECRET_KEY default is public; production must set its own."""
    if settings.SECRET_KEY.startswith("dev-only-insecure"):
        return [Error("SECRET_KEY is the public development default: set SECRET_KEY in the environment.",
                      id="jobqueue.E101")]
    return []
