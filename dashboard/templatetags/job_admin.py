"""The job changelist's date drill-down, computed without scanning the job table."""
import calendar
from datetime import date

from django import template
from django.db.models import Max, Min
from django.utils import timezone

from queue_app.models import Job

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def cheap_date_hierarchy(cl) -> dict:
    """Date drill-down choices from MIN/MAX of the indexed created_at (two index seeks) instead of
    Django's DISTINCT over every row; empty months or days may be listed."""
    params = cl.params
    year, month = params.get("created_at__year"), params.get("created_at__month")
    year = year[-1] if isinstance(year, list) else year
    month = month[-1] if isinstance(month, list) else month

    def link(filters: dict) -> str:
        return cl.get_query_string(filters, ["created_at__"])

    if year and month:
        days = calendar.monthrange(int(year), int(month))[1]
        return {"show": True, "back": {"link": link({"created_at__year": year}), "title": str(year)},
                "choices": [{"link": link({"created_at__year": year, "created_at__month": month,
                                           "created_at__day": d}),
                             "title": date(int(year), int(month), d).strftime("%b %d")} for d in range(1, days + 1)]}
    if year:
        return {"show": True, "back": {"link": link({}), "title": "All dates"},
                "choices": [{"link": link({"created_at__year": year, "created_at__month": m}),
                             "title": date(int(year), m, 1).strftime("%B %Y")} for m in range(1, 13)]}
    # Two aggregates: SQLite answers a lone MIN() or MAX() with one index seek, but not both together.
    oldest = Job.objects.aggregate(m=Min("created_at"))["m"]
    newest = Job.objects.aggregate(m=Max("created_at"))["m"]
    if not oldest:
        return {"show": False}
    first, last = timezone.localtime(oldest).year, timezone.localtime(newest).year
    return {"show": True, "back": None,
            "choices": [{"link": link({"created_at__year": str(y)}), "title": str(y)} for y in range(first, last + 1)]}
