"""Words a user understands: human labels for stored values, and relative dates.

``label`` turns a stored value (``"marketing_qualified"``, ``DealStatus.WON``) into the label its
domain declared (``Domain.labels``), or failing that into plain words ("Marketing qualified").
``relative`` says how far a date is from now ("3 days ago", "in 2 weeks", "tomorrow") and keeps
the exact date in the element's ``title``; ``due`` does the same for a date something is due by
and flags it when it has passed. Both are Jinja filters (``web/render.py``).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup

from rapport.core import clock, registry


def humanize(value: str) -> str:
    """``"sales_qualified"`` → ``"Sales qualified"``: words, first letter capital."""
    words = value.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else ""


# The merged labels per vocabulary, for the registered set they were read from (a new set,
# as tests install, reads them again).
_cache: dict[str, tuple[tuple[registry.Domain, ...], dict[str, str]]] = {}


def _labels(vocabulary: str) -> dict[str, str]:
    now = registry.domains()
    hit = _cache.get(vocabulary)
    if hit is None or hit[0] is not now:
        hit = _cache[vocabulary] = (now, registry.labels(vocabulary))
    return hit[1]


def label(value: Any, vocabulary: str | None = None) -> str:
    """The human label of ``value`` in ``vocabulary`` (a name the domains declare labels
    under); an unknown value, or no vocabulary, reads as plain words. ``None`` is empty."""
    if value is None:
        return ""
    raw = str(value.value) if isinstance(value, enum.Enum) else str(value)
    if vocabulary and registry.installed():
        found = _labels(vocabulary).get(raw)
        if found is not None:
            return found
    return humanize(raw)


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _span(days: int) -> str:
    """A number of whole days as the coarsest unit that reads well."""
    if days < 14:
        return _count(days, "day")
    if days < 60:
        return _count(round(days / 7), "week")
    if days < 365:
        return _count(round(days / 30.4), "month")
    return _count(round(days / 365.25), "year")


def relative_words(value: date | datetime, now: datetime | None = None) -> str:
    """How far ``value`` is from ``now``: "just now", "5 minutes ago", "yesterday", "in 3
    days", "2 weeks ago"… A plain date (no time of day) speaks in days and larger units."""
    now = (now or clock.utcnow()).astimezone(UTC)
    if not isinstance(value, datetime):
        days = (value - now.date()).days
        if days == 0:
            return "today"
        if days == 1:
            return "tomorrow"
        if days == -1:
            return "yesterday"
        return f"in {_span(days)}" if days > 0 else f"{_span(-days)} ago"
    seconds = (_as_datetime(value) - now).total_seconds()
    future, gap = seconds > 0, abs(seconds)
    if gap < 60:
        return "in a moment" if future else "just now"
    if gap < 3600:
        words = _count(int(gap // 60), "minute")
    elif gap < 86400:
        words = _count(int(gap // 3600), "hour")
    else:
        days = int(gap // 86400)
        if days == 1:
            return "tomorrow" if future else "yesterday"
        words = _span(days)
    return f"in {words}" if future else f"{words} ago"


def exact(value: date | datetime) -> str:
    """The exact date (and time, in UTC) shown on hover."""
    if isinstance(value, datetime):
        return _as_datetime(value).strftime("%-d %b %Y, %H:%M UTC")
    return value.strftime("%-d %b %Y")


def is_past(value: date | datetime, now: datetime | None = None) -> bool:
    """``value`` has passed: a date once its day is over, a time once it is reached."""
    now = (now or clock.utcnow()).astimezone(UTC)
    if isinstance(value, datetime):
        return _as_datetime(value) < now
    return value < now.date()


def relative(value: date | datetime | None, now: datetime | None = None) -> Markup:
    """A ``<time>`` saying "3 days ago" or "in 2 weeks", the exact date in its title."""
    if value is None:
        return Markup("")
    stamp = _as_datetime(value).isoformat() if isinstance(value, datetime) else value.isoformat()
    return Markup('<time datetime="{}" title="{}" data-relative>{}</time>').format(
        stamp, exact(value), relative_words(value, now)
    )


def due(value: date | datetime | None, done: bool = False, now: datetime | None = None) -> Markup:
    """A due or expected-close date in relative words; once passed (and not ``done``) it
    is flagged overdue in words and style, not by colour alone."""
    if value is None:
        return Markup("")
    shown = relative(value, now)
    if done or not is_past(value, now):
        return Markup('<span class="due">{}</span>').format(shown)
    return Markup('<span class="due is-overdue" data-overdue>{} <span class="badge '
                  'badge-overdue">Overdue</span></span>').format(shown)  # fmt: skip
