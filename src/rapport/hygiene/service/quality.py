"""The data-quality report: how complete people's records are, how many values are not in
their canonical form, and how much hygiene work is pending (duplicates, inactive, bounced).

Counted with one aggregate query per table (``count(column)`` skips NULLs), so it stays a
handful of statements on a million people.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, case, cast, func, not_, or_, select
from sqlalchemy.orm import aliased

from rapport.core.context import Context
from rapport.hub.models import Person
from rapport.hygiene.models import CompanyDuplicate, DuplicateCandidate, PersonFlag
from rapport.hygiene.service import staleness

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
