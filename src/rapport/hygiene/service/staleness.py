"""Staleness: people nobody has talked to for a while, and emails that bounce.

A person is *inactive* when nothing happened on their timeline for the workspace's
``inactive_days`` (180 by default) and they have no open deal: whatever rows the domains'
links (rapport.core.links) say keep a person active. The flag is a
``person_flags.inactive_since`` date; :func:`flag_stale` sets it and also clears it for anyone
who has had activity or an open deal since, so it is always reversible by running it again.
Bounced emails are flagged by an explicit call (an API) or by an ingested activity of kind
``bounce`` or with ``meta.bounced`` true, which :func:`flag_stale` picks up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from rapport.core import links
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.errors import invalid
from rapport.core.events import record
from rapport.hub.models import Activity, Person
from rapport.hub.public import people
from rapport.hygiene.events import (
    HYGIENE_SETTINGS_CHANGED,
    PEOPLE_STALENESS_CHECKED,
    PERSON_EMAIL_BOUNCE_CLEARED,
    PERSON_EMAIL_BOUNCED,
)
from rapport.hygiene.models import HygieneSettings, PersonFlag

DEFAULT_INACTIVE_DAYS = 180


@dataclass
class StaleResult:
    """What one run changed."""

    inactive_days: int
    flagged: int = 0
    revived: int = 0
    inactive: int = 0
    bounced: int = 0


def get_settings(ctx: Context) -> HygieneSettings:
    """The workspace's hygiene settings (defaults if never saved)."""
    ctx.require("hygiene:read")
    row = ctx.session.scalars(select(HygieneSettings)).first()
    return row or HygieneSettings(
        workspace_id=ctx.workspace_id, inactive_days=DEFAULT_INACTIVE_DAYS
    )


def set_inactive_days(ctx: Context, days: int) -> HygieneSettings:
    """Change after how many quiet days a person counts as inactive; audited."""
    ctx.require("workspace:manage")
    if not 1 <= days <= 3650:
        raise invalid(("inactive_days",), "between 1 and 3650 days")
    row = ctx.session.scalars(select(HygieneSettings)).first()
    if row is None:
        row = HygieneSettings(workspace_id=ctx.workspace_id, inactive_days=DEFAULT_INACTIVE_DAYS)
        ctx.session.add(row)
    old = row.inactive_days
    row.inactive_days = days
    ctx.session.flush()
    record(ctx, HYGIENE_SETTINGS_CHANGED, row.id, {"inactive_days": (old, days)})
    return row


def _flags(ctx: Context, ids: set[uuid.UUID] | None = None) -> dict[uuid.UUID, PersonFlag]:
    stmt = select(PersonFlag)
    if ids is not None:
        stmt = stmt.where(PersonFlag.person_id.in_(ids))
    return {f.person_id: f for f in ctx.session.scalars(stmt)}


def _flag_for(ctx: Context, flags: dict[uuid.UUID, PersonFlag], pid: uuid.UUID) -> PersonFlag:
    flag = flags.get(pid)
    if flag is None:
        flag = flags[pid] = PersonFlag(workspace_id=ctx.workspace_id, person_id=pid)
        ctx.session.add(flag)
    return flag


def flag_stale(ctx: Context, *, now: datetime | None = None) -> StaleResult:
    """Flag people with no activity in the period and no open deal as inactive, clear the flag
    of those who came back, and flag emails that bounced according to the timeline."""
    ctx.require("hygiene:merge")
    now = now or utcnow()
    days = get_settings(ctx).inactive_days
    cutoff = now - timedelta(days=days)
    active = [Person.id.not_in(ids) for ids in links.keeping_active("person", cutoff)]
    quiet = set(ctx.session.scalars(select(Person.id).where(Person.created_at < cutoff, *active)))
    result = StaleResult(inactive_days=days)
    flags = _flags(ctx)
    for pid in quiet:
        flag = _flag_for(ctx, flags, pid)
        if flag.inactive_since is None:
            flag.inactive_since = now
            result.flagged += 1
    for pid, flag in flags.items():
        if flag.inactive_since is not None and pid not in quiet:
            flag.inactive_since = None
            result.revived += 1
    result.inactive = len(quiet)
    result.bounced = _bounces_from_timeline(ctx, flags)
    ctx.session.flush()
    record(ctx, PEOPLE_STALENESS_CHECKED, None, payload={
        "inactive_days": days, "flagged": result.flagged, "revived": result.revived,
        "inactive": result.inactive, "bounced": result.bounced, "now": now.isoformat(),
    })  # fmt: skip
    return result


def _bounces_from_timeline(ctx: Context, flags: dict[uuid.UUID, PersonFlag]) -> int:
    """Flag the email of every person with a bounce on their timeline since their last flag."""
    bounced = or_(Activity.kind == "bounce", Activity.meta["bounced"].as_boolean().is_(True))
    rows = ctx.session.execute(
        select(Activity.person_id, Activity.occurred_at, Person.email)
        .join(Person, Person.id == Activity.person_id)
        .where(bounced)
        .order_by(Activity.occurred_at)
    ).all()
    count = 0
    for pid, when, email in rows:
        if pid is None:
            continue
        flag = _flag_for(ctx, flags, pid)
        if email and (flag.bounced_at is None or flag.bounced_at < when):
            flag.bounced_email, flag.bounced_at = email, when
            count += 1
    return count


def mark_bounced(
    ctx: Context, person_id: uuid.UUID, email: str | None = None, *, now: datetime | None = None
) -> PersonFlag:
    """Flag a person's email (their primary one unless given) as bouncing; audited."""
    ctx.require("people:write")
    person = people.get(ctx, person_id)
    address = (email or person.email or "").strip().lower()
    if not address:
        raise invalid(("email",), "this person has no email to flag")
    known = {e.email.lower() for e in person.emails} | {(person.email or "").lower()}
    if address not in known:
        raise invalid(("email",), "not one of this person's emails")
    flag = _flag_for(ctx, _flags(ctx, {person_id}), person_id)
    old = flag.bounced_email
    flag.bounced_email, flag.bounced_at = address, now or utcnow()
    ctx.session.flush()
    record(ctx, PERSON_EMAIL_BOUNCED, person_id, {"bounced_email": (old, address)})
    return flag


def clear_bounced(ctx: Context, person_id: uuid.UUID) -> PersonFlag:
    """The email works again: remove the bounce flag; audited."""
    ctx.require("people:write")
    people.get(ctx, person_id)
    flag = _flag_for(ctx, _flags(ctx, {person_id}), person_id)
    old = flag.bounced_email
    flag.bounced_email, flag.bounced_at = None, None
    ctx.session.flush()
    record(ctx, PERSON_EMAIL_BOUNCE_CLEARED, person_id, {"bounced_email": (old, None)})
    return flag
