"""The activities target of the import pipeline: a team's history from another CRM — notes,
calls, emails, meetings, purchases — on the timeline, at the dates they happened.

Rows go through the timeline's one ingest path (``timeline.ingest_many``), idempotent by the
source's own id: a row's ``external_id`` (its id in the other CRM), or else a digest of the
row itself, under its ``source`` (``import`` by default). So a file imported twice, or a row
repeated in it, is stored once. Each row names its person by email or external id (or a
company by name or domain); one that names nobody Rapport knows is refused with its line.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.imports import (
    BaseTarget,
    Problem,
    Record,
    Written,
    labelled,
    resolve_columns,
    text_cells,
)
from rapport.hub.models import ActivityKind, Company, Person, PersonEmail
from rapport.hub.service import timeline

SOURCE = "import"
FIELDS = (
    "kind", "occurred_at", "subject", "body", "person_email", "person_external_id", "company",
    "direction", "channel", "amount", "currency", "source", "external_id",
)  # fmt: skip
SYNONYMS = {
    "kind": ("type", "activity type", "activity"),
    "occurred_at": ("date", "when", "time", "timestamp", "occurred", "created at", "due date"),
    "subject": ("title", "summary"),
    "body": ("notes", "note", "description", "content", "details", "text"),
    "person_email": ("email", "contact", "contact email", "person"),
    "person_external_id": ("contact id", "person id"),
    "company": ("company name", "organisation", "organization", "account"),
    "external_id": ("id", "activity id", "source id"),
}
KINDS = {k.value: k.value for k in ActivityKind} | {
    "notes": "note", "calls": "call", "phone": "call", "phone call": "call", "emails": "email",
    "e-mail": "email", "meetings": "meeting", "purchases": "purchase", "order": "purchase",
    "orders": "purchase", "sale": "purchase", "email open": "email_opened",
    "opened": "email_opened", "email click": "email_clicked", "clicked": "email_clicked",
    "form fill": "form_submitted", "form": "form_submitted", "webinar": "webinar_attended",
    "page view": "page_visited", "pageview": "page_visited", "web visit": "page_visited",
}  # fmt: skip
REQUIRED = {
    "the kind": ("kind",),
    "the date": ("occurred_at",),
    "the person (email, external id) or the company": (
        "person_email", "person_external_id", "company",
    ),
}  # fmt: skip
_LOC_FIELD = {"person_id": "person_email", "company_id": "company"}


class ActivitiesTarget(BaseTarget):
    """Timeline activities, idempotent by source id."""

    object = "activity"
    label = "Activities"
    permission = "activities:write"
    formats: tuple[str, ...] = ("csv",)
    batch = 1_000

    def fields(self, ctx: Context) -> list[tuple[str, str]]:
        return labelled(FIELDS)

    def resolve_mapping(
        self,
        ctx: Context,
        columns: list[str],
        fmt: str,
        saved: dict[str, str],
        explicit: dict[str, str],
    ) -> dict[str, str]:
        return resolve_columns(columns, saved, explicit, FIELDS, SYNONYMS, REQUIRED)

    def write(self, ctx: Context, mapping: dict[str, str], cleaned: list[Record]) -> Written:
        ctx.require("activities:write")
        written = Written()
        column_of = {f: c for c, f in mapping.items()}
        rows = [(line, text_cells(raw, mapping)) for line, raw in cleaned]
        people = _people(ctx, rows)
        companies = _companies(ctx, [c["company"] for _, c in rows if "company" in c])
        now = utcnow()
        items: list[dict[str, Any]] = []
        lines: list[tuple[int, dict[str, str]]] = []
        for line, cells in rows:
            problems: list[Problem] = []
            item = _item(cells, people, companies, now, problems, column_of)
            if problems:
                written.rejects.append((line, problems))
            else:
                items.append(item)
                lines.append((line, cells))
        outcome = timeline.ingest_many(ctx, items)
        for result in outcome.results:
            line, cells = lines[result.index]
            if result.status == "created":
                written.created.append(result.id)
            elif result.status == "replayed":
                written.unchanged += 1
            else:
                written.rejects.append((line, [_problem(e, column_of, cells)
                                               for e in result.errors]))  # fmt: skip
        return written


def _item(
    cells: dict[str, str],
    people: dict[tuple[str, str], Any],
    companies: dict[str, Any],
    now: datetime,
    problems: list[Problem],
    column_of: dict[str, str],
) -> dict[str, Any]:
    """The ``ActivityIn`` of a row, its names resolved to ids."""

    def bad(name: str, reason: str) -> None:
        problems.append(Problem(column_of.get(name, name), cells.get(name), reason))

    kind = KINDS.get(cells.get("kind", "").lower())
    if kind is None:
        bad("kind", f"not an activity kind; one of {', '.join(k.value for k in ActivityKind)}")
    occurred = _moment(cells.get("occurred_at", ""))
    if occurred is None:
        bad("occurred_at", "not a date or time such as 2024-03-31 or 2024-03-31T14:00:00Z")
    elif occurred > now:
        bad("occurred_at", "in the future; import what has happened")
    item: dict[str, Any] = {"kind": kind, "occurred_at": occurred}
    for name in ("subject", "body", "channel", "amount", "currency"):
        if name in cells:
            item[name] = cells[name]
    if "direction" in cells:
        item["direction"] = cells["direction"].lower()
    if "person_email" in cells:
        item["person_id"] = people.get(("email", cells["person_email"].lower()))
        if item["person_id"] is None:
            bad("person_email", "no person with this email")
    elif "person_external_id" in cells:
        item["person_id"] = people.get(("external", cells["person_external_id"]))
        if item["person_id"] is None:
            bad("person_external_id", "no person with this external id")
    if "company" in cells:
        item["company_id"] = companies.get(cells["company"].lower())
        if item["company_id"] is None:
            bad("company", "no company with this name or domain")
    if not problems and not item.get("person_id") and not item.get("company_id"):
        bad("person_email", "name the person (email, external id) or the company")
    item["source"] = cells.get("source", SOURCE)[:100]
    item["external_id"] = cells.get("external_id") or _digest(cells)
    return item


def _moment(text: str) -> datetime | None:
    """A date (midnight UTC) or a time (UTC when it gives no zone)."""
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        return None
    if len(text) <= 10:
        moment = datetime.combine(moment.date(), time(), UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _digest(cells: dict[str, str]) -> str:
    """A row's identity when it brings no id of its own: its cells."""
    body = json.dumps(cells, sort_keys=True).encode()
    return "row:" + hashlib.sha256(body).hexdigest()


def _people(ctx: Context, rows: list[tuple[int, dict[str, str]]]) -> dict[tuple[str, str], Any]:
    """Person ids by ``("email", address)`` and ``("external", id)`` for the batch's rows."""
    emails = list({c["person_email"].lower() for _, c in rows if "person_email" in c})
    externals = list({c["person_external_id"] for _, c in rows if "person_external_id" in c})
    found: dict[tuple[str, str], Any] = {}
    for start in range(0, len(emails), 500):
        query = select(PersonEmail.email, PersonEmail.person_id).where(
            PersonEmail.email.in_(emails[start : start + 500])
        )
        found |= {("email", e): p for e, p in ctx.session.execute(query)}
    for start in range(0, len(externals), 500):
        by_external = select(Person.external_id, Person.id).where(
            Person.external_id.in_(externals[start : start + 500])
        )
        found |= {("external", str(e)): p for e, p in ctx.session.execute(by_external)}
    return found


def _companies(ctx: Context, names: list[str]) -> dict[str, Any]:
    """Company ids by lower-cased name or domain."""
    wanted = list({n.lower() for n in names})
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(func.lower(Company.name), Company.domain, Company.id).where(
            func.lower(Company.name).in_(chunk) | Company.domain.in_(chunk)
        )
        for name, domain, company_id in ctx.session.execute(query):
            found.setdefault(name, company_id)
            if domain:
                found.setdefault(domain, company_id)
    return found


def _problem(error: dict[str, Any], column_of: dict[str, str], cells: dict[str, str]) -> Problem:
    loc = error.get("loc") or ["(record)"]
    name = _LOC_FIELD.get(str(loc[0]), str(loc[0]))
    return Problem(column_of.get(name, name), cells.get(name), str(error.get("message")))


ACTIVITIES = ActivitiesTarget()
