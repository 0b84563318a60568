"""Reading the timeline: pages of activities newest first, and the 360° summary of a person.

Pages are keyset pages ordered by ``occurred_at DESC, id DESC``, served by the
``(workspace_id, person_id | company_id, occurred_at)`` indexes. The summary is a handful of
GROUP BY queries, whatever the number of activities; it never loads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import NotFound, invalid
from rapport.core.pagination import Page, SortKey, keyset_page
from rapport.hub.models import Activity, ActivityKind, Company, Person
from rapport.hub.service import companies, people
from rapport.hub.service.timeline import CHANNELS

NEWEST_FIRST = [SortKey("occurred_at", Activity.occurred_at, descending=True)]
KINDS = tuple(k.value for k in ActivityKind)
CENTS = Decimal("0.01")


@dataclass
class ChannelCount:
    channel: str
    count: int
    last_at: datetime | None


@dataclass
class Spend:
    currency: str
    total: Decimal
    orders: int


@dataclass
class PersonSummary:
    """The 360° view of a person, composed from the timeline."""

    person: Person
    company: Company | None
    channels: list[ChannelCount] = field(default_factory=list)
    total_activities: int = 0
    last_contact_at: datetime | None = None
    spend: list[Spend] = field(default_factory=list)
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None


def list_activities(
    ctx: Context, *, deal_id: uuid.UUID | None = None, **window: Any
) -> Page[Activity]:
    """A page of the workspace's activities (only one deal's with ``deal_id``), newest first
    (``window``: as :func:`timeline`)."""
    ctx.require("activities:read")
    return _page(ctx, None if deal_id is None else Activity.deal_id == deal_id, **window)


def timeline(
    ctx: Context,
    person_id: uuid.UUID,
    *,
    kinds: Sequence[str] = (),
    channels: Sequence[str] = (),
    before: datetime | None = None,
    after: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Activity]:
    """A page of a person's activities, newest first, optionally of some kinds or channels,
    strictly ``before`` and at or ``after`` given instants; NotFound for an unknown person."""
    ctx.require("activities:read")
    if get_scoped(ctx.session, Person, person_id) is None:
        raise NotFound("No person with this id")
    return _page(
        ctx, Activity.person_id == person_id, kinds=kinds, channels=channels, before=before,
        after=after, limit=limit, cursor=cursor,
    )  # fmt: skip


def company_timeline(ctx: Context, company_id: uuid.UUID, **window: Any) -> Page[Activity]:
    """A page of a company's activities (its people's included), newest first (``window``: as
    :func:`timeline`)."""
    ctx.require("activities:read")
    if get_scoped(ctx.session, Company, company_id) is None:
        raise NotFound("No company with this id")
    return _page(ctx, Activity.company_id == company_id, **window)


def summary(ctx: Context, person_id: uuid.UUID) -> PersonSummary:
    """The person, their company, contacts per channel and spend per currency.

    1. per channel: how many activities, and the latest one not in the future (a meeting
       booked for next week is not a contact yet);
    2. last contact overall: the latest of those, leaving out internal notes;
    3. per currency: the sum and count of purchases, and the first and last purchase.
    """
    ctx.require("activities:read")
    person = people.get(ctx, person_id)
    company = None
    if person.company_id is not None and ctx.can("companies:read"):
        company = get_scoped(ctx.session, Company, person.company_id, options=companies.FULL)
    result = PersonSummary(person=person, company=company)
    now = utcnow()
    mine = Activity.person_id == person.id
    past = case((Activity.occurred_at <= now, Activity.occurred_at))
    by_channel = ctx.session.execute(
        select(Activity.channel, func.count(), func.max(past))
        .where(mine)
        .group_by(Activity.channel)
        .order_by(Activity.channel)
    )
    for channel, count, last_at in by_channel:
        result.channels.append(ChannelCount(channel, count, last_at))
        result.total_activities += count
        if channel != "internal" and last_at is not None:
            result.last_contact_at = max(last_at, result.last_contact_at or last_at)
    purchases = ctx.session.execute(
        select(
            Activity.currency,
            func.sum(Activity.amount),
            func.count(),
            func.min(Activity.occurred_at),
            func.max(Activity.occurred_at),
        )
        .where(mine, Activity.kind == ActivityKind.PURCHASE.value, Activity.amount.is_not(None))
        .group_by(Activity.currency)
        .order_by(Activity.currency)
    )
    for currency, total, orders, first, last in purchases:
        result.spend.append(Spend(currency or "", Decimal(str(total)).quantize(CENTS), orders))
        result.first_purchase_at = min(first, result.first_purchase_at or first)
        result.last_purchase_at = max(last, result.last_purchase_at or last)
    return result


def _page(
    ctx: Context,
    scope: ColumnElement[bool] | None,
    *,
    kinds: Sequence[str] = (),
    channels: Sequence[str] = (),
    before: datetime | None = None,
    after: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Activity]:
    stmt = select(Activity)
    if scope is not None:
        stmt = stmt.where(scope)
    if wanted := _choices("kind", kinds, KINDS):
        stmt = stmt.where(Activity.kind.in_(wanted))
    if wanted := _choices("channel", channels, CHANNELS):
        stmt = stmt.where(Activity.channel.in_(wanted))
    if before is not None:
        stmt = stmt.where(Activity.occurred_at < _aware("before", before))
    if after is not None:
        stmt = stmt.where(Activity.occurred_at >= _aware("after", after))
    return keyset_page(
        ctx.session, stmt, sort=NEWEST_FIRST, id_column=Activity.id, limit=limit, cursor=cursor
    )


def _choices(name: str, values: Sequence[str], allowed: Sequence[str]) -> list[str]:
    wanted = [v.strip().lower() for value in values for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in allowed]
    if unknown:
        raise invalid((name,), f"unknown {name} {unknown[0]!r}; use one of: {', '.join(allowed)}")
    return wanted


def _aware(name: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise invalid((name,), "give a timezone, e.g. 2025-05-01T09:30:00Z")
    return moment
