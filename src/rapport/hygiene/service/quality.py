"""The data-quality report: how complete people's records are, how many values are not in
their canonical form, and how much hygiene work is pending (duplicates, inactive, bounced).

Counted with one aggregate query per table (``count(column)`` skips NULLs), so it stays a
handful of statements on a million people; still, at a million people that is a second, so the
page of a large workspace shows the last report counted in the background (``for_page``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, func, not_, or_, select
from sqlalchemy.orm import aliased

from rapport.core import jobs
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.hub.models import Person
from rapport.hygiene.models import (
    CompanyDuplicate,
    DuplicateCandidate,
    PersonFlag,
    QualitySnapshot,
)
from rapport.hygiene.service import staleness

LIVE_UP_TO = 50_000  # people counted while the page waits; a larger workspace gets a snapshot
FRESH_FOR = timedelta(minutes=10)  # a snapshot older than this is counted again
SNAPSHOT_JOB = "hygiene.quality_snapshot"

COMPLETENESS = ("first_name", "last_name", "email", "phone", "job_title", "company_id",
                "owner_id", "source", "addresses")  # fmt: skip


def _filled(name: str) -> Any:
    column = getattr(Person, name)
    if name == "addresses":
        return case((cast(column, String).not_in(["[]", "null"]), 1))
    if isinstance(column.type, String):
        return case((and_(column.is_not(None), column != ""), 1))
    return case((column.is_not(None), 1))


def report(ctx: Context) -> dict[str, Any]:
    """Completeness per field (count and share), invalid emails and phones, duplicates pending
    review, inactive people and bounced emails."""
    ctx.require("hygiene:read")
    session = ctx.session
    bad_email = and_(
        Person.email.is_not(None), Person.email != "",
        or_(not_(Person.email.like("%_@_%._%")), Person.email.like("% %")),
    )  # fmt: skip
    bad_phone = and_(Person.phone.is_not(None), Person.phone != "", not_(Person.phone.like("+%")))
    row = session.execute(
        select(
            func.count(Person.id),
            *(func.count(_filled(name)) for name in COMPLETENESS),
            func.count(case((bad_email, 1))),
            func.count(case((bad_phone, 1))),
        )
    ).one()
    total = int(row[0])
    counts = row[1 : 1 + len(COMPLETENESS)]
    completeness = {
        name: {"filled": int(n), "share": round(int(n) / total, 4) if total else 0.0}
        for name, n in zip(COMPLETENESS, counts, strict=True)
    }
    pa, pb = aliased(Person), aliased(Person)
    pending = session.scalar(
        select(func.count(DuplicateCandidate.id))
        .join(pa, pa.id == DuplicateCandidate.person_a)
        .join(pb, pb.id == DuplicateCandidate.person_b)
        .where(DuplicateCandidate.status == "pending")
    )
    companies_pending = session.scalar(
        select(func.count(CompanyDuplicate.id)).where(CompanyDuplicate.status == "pending")
    )
    flags = session.execute(
        select(
            func.count(case((PersonFlag.inactive_since.is_not(None), 1))),
            func.count(case((PersonFlag.bounced_email.is_not(None), 1))),
        ).join(Person, Person.id == PersonFlag.person_id)
    ).one()
    return {
        "people": total,
        "completeness": completeness,
        "invalid": {"emails": int(row[-2]), "phones": int(row[-1])},
        "duplicates_pending": int(pending or 0),
        "company_duplicates_pending": int(companies_pending or 0),
        "inactive": int(flags[0]),
        "bounced_emails": int(flags[1]),
        "inactive_days": staleness.get_settings(ctx).inactive_days,
    }


@dataclass
class Shown:
    """What the quality page shows: a report (None while the first count runs), when it was
    counted (None: just now, for this page) and whether a fresh count is on its way."""

    report: dict[str, Any] | None
    counted_at: datetime | None
    counting: bool


def for_page(ctx: Context) -> Shown:
    """The report counted now for a workspace of up to LIVE_UP_TO people; above, the last
    snapshot, and a new count asked for in the background when it is older than FRESH_FOR."""
    ctx.require("hygiene:read")
    first = select(Person.id).limit(LIVE_UP_TO + 1).subquery()
    if (ctx.session.scalar(select(func.count()).select_from(first)) or 0) <= LIVE_UP_TO:
        return Shown(report(ctx), None, False)
    snapshot = ctx.session.scalars(select(QualitySnapshot)).first()
    fresh = snapshot is not None and snapshot.counted_at > utcnow() - FRESH_FOR
    if not fresh:
        jobs.enqueue(ctx.session, SNAPSHOT_JOB, workspace_id=str(ctx.workspace_id))
    if snapshot is None:
        return Shown(None, None, True)
    return Shown(snapshot.report, snapshot.counted_at, not fresh)


def is_fresh(ctx: Context) -> bool:
    """Whether the workspace's snapshot was counted less than FRESH_FOR ago (a burst of page
    views asks for several counts; the first one does the work)."""
    snapshot = ctx.session.scalars(select(QualitySnapshot)).first()
    return snapshot is not None and snapshot.counted_at > utcnow() - FRESH_FOR


def keep(ctx: Context, counted: dict[str, Any], counted_at: datetime) -> None:
    """Store a report counted at ``counted_at`` as the workspace's snapshot."""
    snapshot = ctx.session.scalars(select(QualitySnapshot)).first()
    if snapshot is None:
        ctx.session.add(
            QualitySnapshot(workspace_id=ctx.workspace_id, report=counted, counted_at=counted_at)
        )
    else:
        snapshot.report, snapshot.counted_at = counted, counted_at
