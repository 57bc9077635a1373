"""The one clock: lifecycle functions take `now=` so tests pass time in instead of sleeping."""
from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
