"""People: the heart of the hub. Every write here is validated, audited and announced.

Emails are normalised and unique per workspace (an email names one person); phones are
stored in E.164; custom field values are checked against the workspace's definitions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.context import Context
from rapport.core.db import WORKSPACE_PARAM, ScopedSelect, flush_unique, get_scoped, table_of
from rapport.core.errors import Conflict, FieldError, Invalid, NotFound, invalid
from rapport.core.events import Changes, check_version, record
from rapport.core.records import move_to_bin, record_type, restore_from_bin
from rapport.core.search import Document, index_documents
from rapport.core.sql_json import json_rows
from rapport.hub import validation
from rapport.hub.events import PERSON_CREATED, PERSON_UPDATED
from rapport.hub.models import Company, Person, PersonEmail, PersonPhone, Tag, person_tags
from rapport.hub.schemas import Address, EmailIn, PersonIn, PersonOut, PersonPatch, PhoneIn
from rapport.hub.service import fields
from rapport.hub.service.common import check_owner, set_tags, tags_by_name, without_unchanged

FULL = (
    selectinload(Person.emails),
    selectinload(Person.phones),
    selectinload(Person.tags),
)


class DuplicateEmail(Conflict):
    code = "duplicate-email"
    title = "Another person in this workspace has this email"


def _email_race() -> DuplicateEmail:
    return DuplicateEmail("One of these emails was just given to another person")


@dataclass
class _Clean:
    """A person's input after normalisation, ready to assign."""

    values: dict[str, Any] = field(default_factory=dict)
    emails: list[tuple[str, str | None]] | None = None  # (email, label), primary first
    phones: list[tuple[str, str | None]] | None = None
    tags: list[str] | None = None
    errors: list[FieldError] = field(default_factory=list)


def get(ctx: Context, person_id: uuid.UUID, *, include_deleted: bool = False) -> Person:
    """One person with emails, phones and tags; NotFound outside the workspace."""
    ctx.require("people:read")
    person = get_scoped(
        ctx.session, Person, person_id, include_deleted=include_deleted, options=FULL
    )
    if person is None:
        raise NotFound("No person with this id")
    return person


def _read_statement() -> ScopedSelect:
    """The person, and their emails, phones and tags as JSON arrays, in one statement."""
    people, emails, phones, tags = (table_of(m) for m in (Person, PersonEmail, PersonPhone, Tag))
    ws: Any = bindparam(WORKSPACE_PARAM)

    def contacts(table: Any, value: str) -> Any:
        fields = {value: table.c[value], "label": table.c.label, "is_primary": table.c.is_primary}
        return json_rows(
            fields | {"position": table.c.position},
            table.c.person_id == people.c.id,
            table.c.workspace_id == ws,
        )

    tagged = json_rows(
        {"id": tags.c.id, "name": tags.c.name, "color": tags.c.color},
        person_tags.c.person_id == people.c.id,
        person_tags.c.workspace_id == ws,
        tags.c.id == person_tags.c.tag_id,
        tags.c.workspace_id == ws,
    )
    return ScopedSelect(
        select(
            *(people.c[name] for name in PersonOut.model_fields if name in people.c),
            contacts(emails, "email").label("emails"),
            contacts(phones, "number").label("phones"),
            tagged.label("tags"),
        ).where(
            people.c.id == bindparam("person_id"),
            people.c.workspace_id == ws,
            people.c.deleted_at.is_(None),
        )
    )


_READ = _read_statement()


def read(ctx: Context, person_id: uuid.UUID) -> PersonOut:
    """One person as the API shows them, like :func:`get` (NotFound outside the workspace or
    in the bin) but in one statement and without building ORM objects: the read a GET pays."""
    ctx.require("people:read")
    row = _READ.execute(ctx.session, person_id=person_id).mappings().first()
    if row is None:
        raise NotFound("No person with this id")
    person = dict(row)
    for contacts in ("emails", "phones"):
        person[contacts] = sorted(person[contacts], key=lambda c: c["position"])
    person["tags"] = sorted(person["tags"], key=lambda t: t["name"])
    return PersonOut.model_validate(person)


def create(ctx: Context, data: PersonIn) -> Person:
    """Create a person; 409 if one of the emails already belongs to someone."""
    ctx.require("people:write")
    clean = _normalise(ctx, data.model_dump(exclude_unset=False), creating=True)
    _raise_if_invalid(clean)
    _check_emails_free(ctx, [e for e, _ in clean.emails or []], None)
    person = Person(workspace_id=ctx.workspace_id, emails=[], phones=[])
    changes = _apply(ctx, person, clean)
    ctx.session.add(person)
    flush_unique(ctx.session, _email_race)
    set_committed_value(person, "tags", [])
    _apply_tags(ctx, person, clean, changes)
    record(ctx, PERSON_CREATED, person.id, changes)
    reindex(ctx, person)
    return person


def update(
    ctx: Context,
    person_id: uuid.UUID,
    patch: PersonPatch,
    *,
    expected_version: int | None = None,
) -> Person:
    """Change the fields sent; 412 if the person changed since ``expected_version``."""
    ctx.require("people:write")
    person = get(ctx, person_id)
    check_version(person.version, expected_version)
    sent = without_unchanged(patch.model_dump(exclude_unset=True), person, "owner_id")
    clean = _normalise(ctx, sent, creating=False, existing_custom=person.custom)
    _raise_if_invalid(clean)
    if clean.emails is not None:
        _check_emails_free(ctx, [e for e, _ in clean.emails], person.id)
    changes = _apply(ctx, person, clean)
    _apply_tags(ctx, person, clean, changes)
    if changes:
        if "tags" in changes and len(changes) == 1:
            person.updated_at = utcnow()  # a tag change is a change of the person: new version
        # The UPDATE carries WHERE version = :seen (no lost update).
        flush_unique(ctx.session, _email_race)
        record(ctx, PERSON_UPDATED, person.id, changes)
        reindex(ctx, person)
    return person


def delete(ctx: Context, person_id: uuid.UUID, *, expected_version: int | None = None) -> Person:
    """Move a person to the bin; restore brings them back with everything linked."""
    return move_to_bin(ctx, record_type("person"), person_id, expected_version=expected_version)


def restore(ctx: Context, person_id: uuid.UUID) -> Person:
    """Bring a person back from the bin."""
    return restore_from_bin(ctx, record_type("person"), person_id)


def backdate_creation(ctx: Context, person_id: uuid.UUID, created_at: datetime) -> Person:
    """Record that a person just brought in from history was really created at
    ``created_at`` (a past, time-zoned instant), so the time-correct features of lead
    scoring and every "created since" filter see them when they really arrived."""
    ctx.require("people:write")
    if created_at.tzinfo is None:
        raise invalid(("created_at",), "give a time zone (e.g. 2026-03-01Z)", "naive-datetime")
    if created_at > utcnow():
        raise invalid(("created_at",), "cannot be in the future", "in-the-future")
    person = get(ctx, person_id)
    old, person.created_at = person.created_at, created_at
    ctx.session.flush()
    record(ctx, PERSON_UPDATED, person.id, {"created_at": (old, created_at)})
    return person


def find_by_email(ctx: Context, email: str) -> Person | None:
    """The person (even in the bin) who owns this email, if any."""
    ctx.require("people:read")
    try:
        email = validation.normalise_email(email)
    except ValueError:
        return None
    row = ctx.session.scalars(
        select(Person)
        .join(PersonEmail, PersonEmail.person_id == Person.id)
        .where(PersonEmail.email == email)
        .execution_options(include_deleted=True)
    ).first()
    return row


# --- internals ------------------------------------------------------------------------------


def _raise_if_invalid(clean: _Clean) -> None:
    if clean.errors:
        summary = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in clean.errors[:5])
        raise Invalid(f"{len(clean.errors)} field(s) are invalid: {summary}", errors=clean.errors)


def _normalise(
    ctx: Context,
    sent: dict[str, Any],
    *,
    creating: bool,
    existing_custom: dict[str, Any] | None = None,
) -> _Clean:
    clean = _Clean()
    region = str(ctx.extra.get("region") or get_settings().default_region)
    for name in ("first_name", "last_name"):
        if name in sent:
            clean.values[name] = validation.clean_name(sent[name])
    for name in ("job_title", "source", "external_id"):
        if name in sent:
            clean.values[name] = (sent[name] or "").strip() or None
    for name in ("lifecycle_stage", "consent_status"):
        if name in sent:
            if sent[name] is None:
                clean.errors.append(FieldError((name,), "cannot be null"))
            else:
                clean.values[name] = str(getattr(sent[name], "value", sent[name]))
    if "preferences" in sent and sent["preferences"] is not None:
        clean.values["preferences"] = {
            str(k): str(getattr(v, "value", v)) for k, v in sent["preferences"].items()
        }
    if "emails" in sent or "email" in sent:
        clean.emails = _emails(sent, clean.errors)
    if "phones" in sent or "phone" in sent:
        clean.phones = _phones(sent, region, clean.errors)
    if "addresses" in sent:
        clean.values["addresses"] = _addresses(sent["addresses"] or [], clean.errors)
    if "tags" in sent:
        clean.tags = list(sent["tags"] or [])
    if "owner_id" in sent:
        clean.errors += check_owner(ctx, sent["owner_id"])
        clean.values["owner_id"] = sent["owner_id"]
    if "company_id" in sent:
        company_id = sent["company_id"]
        if company_id is not None and get_scoped(ctx.session, Company, company_id) is None:
            clean.errors.append(
                FieldError(("company_id",), "no company with this id", "unknown-company")
            )
        clean.values["company_id"] = company_id
    if "custom" in sent or creating:
        merged, errors = fields.validate_values(
            ctx, "person", sent.get("custom") or {}, existing=existing_custom
        )
        clean.values["custom"] = merged
        clean.errors += errors
    return clean


def _emails(sent: dict[str, Any], errors: list[FieldError]) -> list[tuple[str, str | None]]:
    items: list[EmailIn] = [EmailIn.model_validate(e) for e in sent.get("emails") or []]
    shortcut = sent.get("email")
    if shortcut:
        items = [EmailIn(email=shortcut, primary=True)] + [i for i in items if i.email != shortcut]
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    primary_index = next((i for i, e in enumerate(items) if e.primary), 0)
    for index, item in enumerate(items):
        loc: tuple[str | int, ...] = (
            ("email",) if shortcut and index == 0 else ("emails", index, "email")
        )
        try:
            email = validation.normalise_email(item.email)
        except ValueError as exc:
            errors.append(FieldError(loc, str(exc), "invalid-email"))
            continue
        if email in seen:
            continue
        seen.add(email)
        entry = (email, item.label)
        if index == primary_index:
            out.insert(0, entry)
        else:
            out.append(entry)
    return out


def _phones(
    sent: dict[str, Any], region: str, errors: list[FieldError]
) -> list[tuple[str, str | None]]:
    items: list[PhoneIn] = [PhoneIn.model_validate(p) for p in sent.get("phones") or []]
    shortcut = sent.get("phone")
    if shortcut:
        items = [PhoneIn(number=shortcut, primary=True), *items]
    out: list[tuple[str, str | None]] = []
    primary_index = next((i for i, p in enumerate(items) if p.primary), 0)
    for index, item in enumerate(items):
        loc: tuple[str | int, ...] = (
            ("phone",) if shortcut and index == 0 else ("phones", index, "number")
        )
        try:
            number = validation.normalise_phone(item.number, region)
        except ValueError as exc:
            errors.append(FieldError(loc, str(exc), "invalid-phone"))
            continue
        if any(number == n for n, _ in out):
            continue
        if index == primary_index:
            out.insert(0, (number, item.label))
        else:
            out.append((number, item.label))
    return out


def _addresses(raw: list[Any], errors: list[FieldError]) -> list[dict[str, Any]]:
    out = []
    for index, item in enumerate(raw):
        address = Address.model_validate(item).model_dump(exclude_none=True)
        if address.get("country"):
            try:
                address["country"] = validation.normalise_country(address["country"])
            except ValueError as exc:
                errors.append(
                    FieldError(("addresses", index, "country"), str(exc), "invalid-country")
                )
        out.append(address)
    return out


def _check_emails_free(ctx: Context, emails: list[str], person_id: uuid.UUID | None) -> None:
    if not emails:
        return
    taken = ctx.session.execute(
        select(PersonEmail.email, PersonEmail.person_id).where(PersonEmail.email.in_(emails))
    ).all()
    clashes = [(email, owner) for email, owner in taken if owner != person_id]
    if clashes:
        names = _display_names(ctx, {owner for _email, owner in clashes})
        errors = [
            FieldError(
                ("emails", emails.index(email)), f"already belongs to {names[owner]}", "duplicate"
            )
            for email, owner in clashes
        ]
        raise DuplicateEmail(
            f"{clashes[0][0]} already belongs to {names[clashes[0][1]]}", errors=errors
        )


def _display_names(ctx: Context, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """How a message names these people: their name (or email), and "in the bin" for one
    deleted; never their id, which tells a reader nothing."""
    rows = ctx.session.execute(
        select(Person.id, Person.full_name, Person.email, Person.deleted_at)
        .where(Person.id.in_(ids))
        .execution_options(include_deleted=True)
    ).all()
    names = {}
    for pid, full_name, email, deleted_at in rows:
        name = full_name or email or "another person"
        names[pid] = f"{name} (in the bin)" if deleted_at is not None else name
    return {i: names.get(i, "another person") for i in ids}


def _apply(ctx: Context, person: Person, clean: _Clean) -> Changes:
    """Assign normalised values and return {field: (old, new)} for what really changed."""
    changes: Changes = {}
    for name, new in clean.values.items():
        old = getattr(person, name)
        if old != new:
            changes[name] = (old, new)
            setattr(person, name, new)
    if "consent_status" in changes:
        person.consent_updated_at = utcnow()
    full_name = " ".join(p for p in (person.first_name, person.last_name) if p)
    if person.full_name != full_name:
        person.full_name = full_name
    if clean.emails is not None:
        old_emails = [e.email for e in person.emails]
        new_emails = [e for e, _ in clean.emails]
        if [(e.email, e.label) for e in person.emails] != clean.emails:
            person.emails = [
                PersonEmail(
                    workspace_id=ctx.workspace_id,
                    email=e,
                    label=label,
                    is_primary=i == 0,
                    position=i,
                )
                for i, (e, label) in enumerate(clean.emails)
            ]
            if old_emails != new_emails:
                changes["emails"] = (old_emails, new_emails)
            person.email = new_emails[0] if new_emails else None
    if clean.phones is not None:
        old_phones = [p.number for p in person.phones]
        new_phones = [n for n, _ in clean.phones]
        if [(p.number, p.label) for p in person.phones] != clean.phones:
            person.phones = [
                PersonPhone(
                    workspace_id=ctx.workspace_id,
                    number=n,
                    label=label,
                    is_primary=i == 0,
                    position=i,
                )
                for i, (n, label) in enumerate(clean.phones)
            ]
            if old_phones != new_phones:
                changes["phones"] = (old_phones, new_phones)
            person.phone = new_phones[0] if new_phones else None
    return changes


def _apply_tags(ctx: Context, person: Person, clean: _Clean, changes: Changes) -> None:
    if clean.tags is None:
        return
    changed = set_tags(ctx, person, tags_by_name(ctx, clean.tags))
    if changed:
        changes["tags"] = changed


def search_document(person: Person, company_name: str | None) -> Document:
    """What search knows of a person: name, emails, phones, company, title."""
    return document_for(
        person.id,
        full_name=person.full_name,
        job_title=person.job_title,
        company_name=company_name,
        emails=[e.email for e in person.emails],
        phones=[p.number for p in person.phones],
    )


def document_for(
    person_id: uuid.UUID,
    *,
    full_name: str,
    job_title: str | None,
    company_name: str | None,
    emails: list[str],
    phones: list[str],
) -> Document:
    """The search document of a person, from plain values (the bulk path has no ORM objects)."""
    primary = emails[0] if emails else None
    title = full_name or primary or "(no name)"
    subtitle = " · ".join(p for p in (job_title, company_name, primary) if p) or None
    # The subtitle already holds the company and the first email: the searchable text need
    # not repeat them (every repeated word is more trigram index to write).
    return Document("person", person_id, title, subtitle, [*emails[1:], *phones])


def reindex(ctx: Context, *people: Person) -> None:
    """Write the search documents of these people again (their company names looked up once)."""
    company_ids = {p.company_id for p in people if p.company_id}
    names: dict[uuid.UUID, str] = {}
    if company_ids:
        names = dict(
            ctx.session.execute(
                select(Company.id, Company.name).where(Company.id.in_(company_ids))
            ).all()
        )
    index_documents(
        ctx.session,
        ctx.workspace_id,
        [search_document(p, names.get(p.company_id) if p.company_id else None) for p in people],
    )
