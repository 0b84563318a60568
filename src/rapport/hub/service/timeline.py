"""The one timeline ingest path: every channel adapter, import and the API log activities here.

An activity is idempotent by its source's own id: ``(source, external_id)`` — an email's
Message-ID, a shop's order number, a chat platform's event id. Logging the same pair again
answers the activity already stored, unchanged, and says it was a replay, so adapters can
deliver at least once without creating duplicates. Reading the timeline and the 360° summary
lives in :mod:`rapport.hub.service.timeline_read`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from rapport.core import links
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.core.errors import FieldError, Invalid, NotFound
from rapport.core.events import Changes, check_version, diff_fields, record, record_many
from rapport.core.ids import new_id
from rapport.hub import validation
from rapport.hub.events import (
    ACTIVITY_CREATED,
    ACTIVITY_DELETED,
    ACTIVITY_RESTORED,
    ACTIVITY_UPDATED,
)
from rapport.hub.models import Activity, ActivityKind, Company, Person
from rapport.hub.schemas import ActivityIn, ActivityPatch

CHANNELS = ("email", "phone", "sms", "meeting", "chat", "social", "in_store", "commerce",
            "web", "post", "internal")  # fmt: skip
DEFAULT_CHANNEL = {
    ActivityKind.EMAIL: "email", ActivityKind.CALL: "phone", ActivityKind.MEETING: "meeting",
    ActivityKind.CHAT: "chat", ActivityKind.SOCIAL: "social", ActivityKind.VISIT: "in_store",
    ActivityKind.PURCHASE: "commerce", ActivityKind.NOTE: "internal",
    ActivityKind.EMAIL_OPENED: "email", ActivityKind.EMAIL_CLICKED: "email",
    ActivityKind.FORM_SUBMITTED: "web", ActivityKind.WEBINAR_ATTENDED: "web",
    ActivityKind.PAGE_VISITED: "web",
}  # fmt: skip
CHUNK = 500
_LOOKUP_CHUNK = 500
_DEALS = "deals"  # what an activity's deal_id points at: the sales domain's table (its links)


@dataclass
class Logged:
    """The activity an ingest stored, or, on a replay of ``(source, external_id)``, the one
    stored the first time."""

    activity: Activity
    is_replay: bool


@dataclass
class IngestResult:
    index: int
    status: str  # created | replayed | error
    id: uuid.UUID | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IngestOutcome:
    results: list[IngestResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def get(ctx: Context, activity_id: uuid.UUID, *, include_deleted: bool = False) -> Activity:
    """One activity; NotFound outside the workspace (or in the bin)."""
    ctx.require("activities:read")
    activity = get_scoped(ctx.session, Activity, activity_id, include_deleted=include_deleted)
    if activity is None:
        raise NotFound("No activity with this id")
    return activity


def log(ctx: Context, data: ActivityIn) -> Activity:
    """Put an interaction on the timeline; a replayed ``(source, external_id)`` answers the
    activity stored the first time."""
    return ingest(ctx, data).activity


def ingest(ctx: Context, data: ActivityIn) -> Logged:
    """:func:`log`, also saying whether the activity was already there (a replay)."""
    ctx.require("activities:write")
    row, errors = _prepare(ctx, data, utcnow())
    links = _links(ctx, [row])
    errors += _check_links(row, links)
    _raise_if_invalid(errors)
    source, external_id = row["source"], row["external_id"]
    if external_id is not None:
        existing = _find(ctx, source, external_id)
        if existing is not None:
            return Logged(existing, True)
    activity = Activity(**row)
    if external_id is None:
        ctx.session.add(activity)
        ctx.session.flush()
    else:
        try:
            # Two deliveries of one event can race past the lookup above; the unique
            # (workspace, source, external_id) constraint lets only one insert win.
            with ctx.session.begin_nested():
                ctx.session.add(activity)
                ctx.session.flush()
        except IntegrityError:
            existing = _find(ctx, source, external_id)
            if existing is None:
                raise
            return Logged(existing, True)
    record(ctx, ACTIVITY_CREATED, activity.id, _created_changes(row), payload=_payload(row))
    return Logged(activity, False)


def ingest_many(ctx: Context, items: Sequence[ActivityIn | dict[str, Any]]) -> IngestOutcome:
    """Log many activities with multi-row INSERTs (imports, demo data, benchmarks). Bad items
    are reported with their index and reasons; replays are reported, not duplicated."""
    ctx.require("activities:write")
    now = utcnow()
    results: list[IngestResult | None] = [None] * len(items)
    prepared: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(items):
        try:
            data = raw if isinstance(raw, ActivityIn) else ActivityIn.model_validate(raw)
        except ValidationError as exc:
            errors = [
                FieldError(tuple(e["loc"]) or ("item",), e["msg"], e["type"]) for e in exc.errors()
            ]
            results[index] = IngestResult(index, "error", errors=[e.as_dict() for e in errors])
            continue
        row, problems = _prepare(ctx, data, now)
        if problems:
            results[index] = IngestResult(index, "error", errors=[e.as_dict() for e in problems])
        else:
            prepared.append((index, row))
    links = _links(ctx, [row for _, row in prepared])
    fresh: list[tuple[int, dict[str, Any]]] = []
    known = _find_many(ctx, [row for _, row in prepared])
    for index, row in prepared:
        problems = _check_links(row, links)
        if problems:
            results[index] = IngestResult(index, "error", errors=[e.as_dict() for e in problems])
            continue
        key = (row["source"], row["external_id"])
        if row["external_id"] is not None and key in known:
            results[index] = IngestResult(index, "replayed", known[key])
            continue
        if row["external_id"] is not None:
            known[key] = row["id"]  # a later item of this batch with the same key is a replay
        fresh.append((index, row))
    for start in range(0, len(fresh), CHUNK):
        for index, result in _insert_chunk(ctx, fresh[start : start + CHUNK]):
            results[index] = result
    return IngestOutcome([r for r in results if r is not None])


def update(
    ctx: Context,
    activity_id: uuid.UUID,
    patch: ActivityPatch,
    *,
    expected_version: int | None = None,
) -> Activity:
    """Correct an activity (subject, body, time, direction, amount); 412 on a stale version."""
    ctx.require("activities:write")
    activity = get(ctx, activity_id)
    check_version(activity.version, expected_version)
    sent = patch.model_dump(exclude_unset=True)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for name in ("occurred_at", "direction"):
        if name in sent and sent[name] is None:
            errors.append(FieldError((name,), "cannot be null"))
    if sent.get("occurred_at") is not None:
        values["occurred_at"] = _aware(sent["occurred_at"], errors)
    if sent.get("direction") is not None:
        values["direction"] = str(sent["direction"].value)
    for name in ("subject", "body"):
        if name in sent:
            values[name] = _text(sent[name])
    if "meta" in sent:
        values["meta"] = sent["meta"] or {}
    if "deal_id" in sent:
        values["deal_id"] = sent["deal_id"]
        if sent["deal_id"] is not None and sent["deal_id"] not in _live_deals(
            ctx, [sent["deal_id"]]
        ):
            errors.append(FieldError(("deal_id",), "no deal with this id", "unknown-deal"))
    amount = sent.get("amount", activity.amount)
    currency = sent.get("currency", activity.currency)
    values["amount"], values["currency"] = _money(activity.kind, amount, currency, errors)
    _raise_if_invalid(errors)
    changes = diff_fields(activity, values)
    if changes:
        ctx.session.flush()  # the UPDATE carries WHERE version = :seen (no lost update)
        record(ctx, ACTIVITY_UPDATED, activity.id, changes)
    return activity


def delete(
    ctx: Context, activity_id: uuid.UUID, *, expected_version: int | None = None
) -> Activity:
    """Move an activity to the bin; it leaves the timeline and the 360° figures."""
    ctx.require("activities:delete")
    activity = get(ctx, activity_id)
    check_version(activity.version, expected_version)
    activity.deleted_at = utcnow()
    ctx.session.flush()
    record(ctx, ACTIVITY_DELETED, activity.id, {"deleted_at": (None, activity.deleted_at)})
    return activity


def restore(ctx: Context, activity_id: uuid.UUID) -> Activity:
    """Bring an activity back from the bin."""
    ctx.require("activities:delete")
    activity = get(ctx, activity_id, include_deleted=True)
    if activity.deleted_at is None:
        return activity
    old = activity.deleted_at
    activity.deleted_at = None
    ctx.session.flush()
    record(ctx, ACTIVITY_RESTORED, activity.id, {"deleted_at": (old, None)})
    return activity


# --- internals ------------------------------------------------------------------------------


def _raise_if_invalid(errors: list[FieldError]) -> None:
    if errors:
        summary = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors[:5])
        raise Invalid(f"{len(errors)} field(s) are invalid: {summary}", errors=errors)


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _aware(moment: datetime, errors: list[FieldError]) -> datetime | None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        errors.append(
            FieldError(("occurred_at",), "give a timezone, e.g. 2025-05-01T09:30:00Z", "naive")
        )
        return None
    return moment.astimezone(UTC)


def _money(
    kind: str, amount: Decimal | None, currency: str | None, errors: list[FieldError]
) -> tuple[Decimal | None, str | None]:
    """Amount and currency checked together: never negative, never without a currency, and
    always present on a purchase."""
    if currency is not None:
        try:
            currency = validation.normalise_currency(currency)
        except ValueError as exc:
            errors.append(FieldError(("currency",), str(exc), "invalid-currency"))
    if amount is None:
        if kind == ActivityKind.PURCHASE:
            errors.append(FieldError(("amount",), "a purchase needs an amount", "required"))
        return None, currency
    if not amount.is_finite():
        errors.append(FieldError(("amount",), "an amount must be a number", "invalid"))
    elif amount < 0:
        errors.append(FieldError(("amount",), "an amount cannot be negative", "negative"))
    if currency is None:
        errors.append(FieldError(("currency",), "an amount needs a currency", "required"))
    return amount, currency


def _prepare(
    ctx: Context, data: ActivityIn, now: datetime
) -> tuple[dict[str, Any], list[FieldError]]:
    """The row to insert and the problems found without asking the database."""
    errors: list[FieldError] = []
    kind = ActivityKind(data.kind)
    channel = (data.channel or DEFAULT_CHANNEL[kind]).strip().lower()
    if channel not in CHANNELS:
        errors.append(
            FieldError(
                ("channel",), f"unknown channel; use one of: {', '.join(CHANNELS)}", "invalid"
            )
        )
    occurred_at = now if data.occurred_at is None else _aware(data.occurred_at, errors)
    amount, currency = _money(kind, data.amount, data.currency, errors)
    source, external_id = _text(data.source), _text(data.external_id)
    if external_id is not None and source is None:
        errors.append(
            FieldError(("source",), "an external_id needs the source it comes from", "required")
        )
    if data.person_id is None and data.company_id is None and data.deal_id is None:
        errors.append(
            FieldError(
                ("person_id",), "link the activity to a person, a company or a deal", "required"
            )
        )
    row = {
        "id": new_id(), "workspace_id": ctx.workspace_id, "kind": kind.value, "channel": channel,
        "direction": data.direction.value, "occurred_at": occurred_at,
        "subject": _text(data.subject), "body": data.body or None,
        "person_id": data.person_id, "company_id": data.company_id, "deal_id": data.deal_id,
        "amount": amount, "currency": currency, "source": source, "external_id": external_id,
        "actor_id": ctx.user_id, "meta": data.meta, "version": 1, "created_at": now,
        "updated_at": now, "deleted_at": None,
    }  # fmt: skip
    return row, errors


@dataclass
class _Links:
    people: dict[uuid.UUID, uuid.UUID | None]  # live person -> their company
    companies: set[uuid.UUID]
    # live deal -> its person and company
    deals: dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]] = field(default_factory=dict)


def _links(ctx: Context, rows: list[dict[str, Any]]) -> _Links:
    """Which of the rows' people, companies and deals are live records of this workspace."""
    deals = _live_deals(ctx, list({r["deal_id"] for r in rows if r.get("deal_id")}))
    # A row linked to a deal alone takes the deal's person and company.
    alone = [r["deal_id"] for r in rows if r.get("deal_id") and not r["person_id"]
             and not r["company_id"]]  # fmt: skip
    deal_people = {p for d in alone if (p := deals.get(d, (None, None))[0]) is not None}
    person_ids = list({r["person_id"] for r in rows if r["person_id"]} | deal_people)
    people: dict[uuid.UUID, uuid.UUID | None] = {}
    companies: set[uuid.UUID] = set()
    for start in range(0, len(person_ids), _LOOKUP_CHUNK):
        chunk = person_ids[start : start + _LOOKUP_CHUNK]
        found = ctx.session.execute(
            select(Person.id, Person.company_id).where(Person.id.in_(chunk))
        )
        people.update((person_id, company_id) for person_id, company_id in found)
    # The people's own companies too: a row without company_id takes its person's.
    wanted = {r["company_id"] for r in rows if r["company_id"]} | set(people.values())
    wanted |= {company for _, company in deals.values()}
    company_ids = [c for c in wanted if c is not None]
    for start in range(0, len(company_ids), _LOOKUP_CHUNK):
        chunk = company_ids[start : start + _LOOKUP_CHUNK]
        companies.update(ctx.session.scalars(select(Company.id).where(Company.id.in_(chunk))))
    return _Links(people, companies, deals)


def _live_deals(
    ctx: Context, deal_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]]:
    """The live deals of this workspace among ``deal_ids``, with their person and company (the
    deals table belongs to another domain: its declared links say where a deal points)."""
    deals: dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]] = {}
    for start in range(0, len(deal_ids), _LOOKUP_CHUNK):
        chunk = deal_ids[start : start + _LOOKUP_CHUNK]
        found = links.owners(ctx, _DEALS, chunk)
        deals.update((i, (owner.get("person"), owner.get("company"))) for i, owner in found.items())
    return deals


def _check_links(row: dict[str, Any], links: _Links) -> list[FieldError]:
    """Field errors for unknown people, companies or deals; fills the company from the person,
    and a row linked to a deal alone gets the deal's (live) person and company."""
    errors = []
    filled = False
    if row.get("deal_id") is not None:
        if row["deal_id"] not in links.deals:
            errors.append(FieldError(("deal_id",), "no deal with this id", "unknown-deal"))
        elif row["person_id"] is None and row["company_id"] is None:
            person, company = links.deals[row["deal_id"]]
            row["person_id"] = person if person in links.people else None
            row["company_id"] = company if company in links.companies else None
            if row["company_id"] is None and row["person_id"] is not None:
                row["company_id"] = links.people[row["person_id"]]
            filled = row["company_id"] is not None
    if row["person_id"] is not None:
        if row["person_id"] not in links.people:
            errors.append(FieldError(("person_id",), "no person with this id", "unknown-person"))
        elif row["company_id"] is None:
            row["company_id"], filled = links.people[row["person_id"]], True
    if row["company_id"] is not None and row["company_id"] not in links.companies:
        if filled:
            row["company_id"] = None  # the person's company is in the bin: link the person only
        else:
            errors.append(FieldError(("company_id",), "no company with this id", "unknown-company"))
    return errors


def _find(ctx: Context, source: str | None, external_id: str) -> Activity | None:
    return ctx.session.scalars(
        select(Activity)
        .where(Activity.source == source, Activity.external_id == external_id)
        .execution_options(include_deleted=True)
    ).first()


def _find_many(
    ctx: Context, rows: list[dict[str, Any]]
) -> dict[tuple[str | None, str | None], uuid.UUID]:
    """Ids of activities already stored for the rows' (source, external_id) pairs."""
    by_source: dict[str, set[str]] = {}
    for row in rows:
        if row["external_id"] is not None:
            by_source.setdefault(row["source"], set()).add(row["external_id"])
    found: dict[tuple[str | None, str | None], uuid.UUID] = {}
    for source, wanted in by_source.items():
        ids = list(wanted)
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            query = (
                select(Activity.source, Activity.external_id, Activity.id)
                .where(Activity.source == source)
                .where(Activity.external_id.in_(ids[start : start + _LOOKUP_CHUNK]))
                .execution_options(include_deleted=True)
            )
            found.update({(s, e): i for s, e, i in ctx.session.execute(query)})
    return found


def _insert_chunk(
    ctx: Context, chunk: list[tuple[int, dict[str, Any]]]
) -> list[tuple[int, IngestResult]]:
    rows = [row for _, row in chunk]
    try:
        # A concurrent ingest may store one of these keys first; then the chunk is retried
        # item by item, and the items already there come back as replays.
        with ctx.session.begin_nested():
            ctx.session.execute(insert(Activity), rows)
    except IntegrityError:
        return [(index, _retry_one(ctx, index, row)) for index, row in chunk]
    record_many(ctx, ACTIVITY_CREATED, [(r["id"], _created_changes(r), _payload(r)) for r in rows])
    return [(index, IngestResult(index, "created", row["id"])) for index, row in chunk]


def _retry_one(ctx: Context, index: int, row: dict[str, Any]) -> IngestResult:
    existing = _find(ctx, row["source"], row["external_id"]) if row["external_id"] else None
    if existing is not None:
        return IngestResult(index, "replayed", existing.id)
    with ctx.session.begin_nested():
        ctx.session.execute(insert(Activity), [row])
    record(ctx, ACTIVITY_CREATED, row["id"], _created_changes(row), payload=_payload(row))
    return IngestResult(index, "created", row["id"])


_NOT_AUDITED = frozenset(
    {"id", "workspace_id", "version", "created_at", "updated_at", "deleted_at"}
)


def _created_changes(row: dict[str, Any]) -> Changes:
    return {
        k: (None, v) for k, v in row.items() if k not in _NOT_AUDITED and v not in (None, "", {})
    }


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    """What consumers of ``activity.created`` route on without loading the row."""
    keys = ("kind", "channel", "person_id", "company_id", "deal_id", "occurred_at")
    return {k: row[k] for k in keys}
