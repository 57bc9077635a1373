"""Small template filters for the dashboard."""
from datetime import datetime

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as a short human duration: 850ms, 42s, 3m 12s, 5h 02m, 3d 4h."""
    if seconds is None or seconds == "":
        return "—"
    s = float(seconds)
    if s < 1:
        return f"{s * 1000:.0f}ms"
    if s < 60:
        return f"{s:.1f}s" if s < 10 else f"{s:.0f}s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h}h"


@register.filter
def since(then: datetime | None, now: datetime) -> str:
    """How long ago `then` was, relative to `now`."""
    if then is None:
        return "—"
    return duration(max(0.0, (now - then).total_seconds())) + " ago"


@register.filter
def badge(status: str) -> str:
    """A status badge; the colours live in one place (dashboard.css, .st-<STATUS>)."""
    return format_html('<span class="badge st-{}">{}</span>', status, status)


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def ms(value) -> str:
    return "—" if value is None else duration(value / 1000.0)
