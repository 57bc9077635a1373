"""Job list filters: status (one or several), queue, task, created_after/before and an id prefix."""
import uuid

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django_filters.fields import MultipleChoiceField

from queue_app.models import Job, Status

ID_PREFIX = RegexValidator(r"^[0-9a-fA-F-]{1,36}$", "Hexadecimal digits of a job id (dashes allowed).")


class CommaMultipleChoiceField(MultipleChoiceField):
    """Accepts `?status=A&status=B` and `?status=A,B`."""

    def to_python(self, value):
        return [part.strip() for v in super().to_python(value) for part in str(v).split(",") if part.strip()]


class StatusFilter(django_filters.MultipleChoiceFilter):
    field_class = CommaMultipleChoiceField


def id_prefix_range(prefix: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The smallest and largest UUIDs starting with `prefix` (so the primary-key index serves it)."""
    digits = prefix.replace("-", "").lower()[:32]
    return uuid.UUID(hex=digits.ljust(32, "0")), uuid.UUID(hex=digits.ljust(32, "f"))


class NoBlankForm(forms.Form):
    """A filter given with an empty value (`?created_before=`) is a mistake, not "no filter"."""

    def clean(self):
        cleaned = super().clean()
        for name in self.fields:
            if name in self.data and all(not v.strip() for v in self.data.getlist(name)):
                self.add_error(name, "May not be empty; leave the parameter out instead.")
        return cleaned


class JobFilter(django_filters.FilterSet):
    status = StatusFilter(choices=Status.choices, help_text="One or several statuses (repeat or comma-separate).")
    queue = django_filters.CharFilter(help_text="Exact queue name.")
    task = django_filters.CharFilter(help_text="Exact task name.")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte",
                                                     help_text="ISO 8601; created at or after.")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt",
                                                      help_text="ISO 8601; created before.")
    id = django_filters.CharFilter(method="filter_id_prefix", validators=[ID_PREFIX],
                                   help_text="Job id prefix (hex digits, dashes ignored).")

    class Meta:
        model = Job
        form = NoBlankForm
        fields = ["status", "queue", "task", "created_after", "created_before", "id"]

    def filter_id_prefix(self, queryset, name, value):
        low, high = id_prefix_range(value)
        return queryset.filter(id__gte=low, id__lte=high)
